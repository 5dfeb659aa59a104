import { CorralError } from '../errors/index.js';

/** Limits that keep one request from monopolising a worker or the gateway's memory. */
export const MAX_TEXTS = 2048;
export const MAX_TEXT_CHARS = 100_000;

/**
 * Checks a list of input texts and says exactly which item is wrong. Accepts a
 * single string where `allowSingle` (OpenAI's `input`).
 */
export function checkTexts(value: unknown, field: string, allowSingle = false): string[] {
  const list = allowSingle && typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list)) throw new CorralError('INVALID_INPUT', `"${field}" must be ${allowSingle ? 'a string or ' : ''}a list of strings.`);
  if (list.length === 0) throw new CorralError('INVALID_INPUT', `"${field}" is empty; send at least one string.`);
  if (list.length > MAX_TEXTS) throw new CorralError('INVALID_INPUT', `"${field}" has ${list.length} items; at most ${MAX_TEXTS} per request.`);
  list.forEach((item, i) => {
    if (typeof item !== 'string') throw new CorralError('INVALID_INPUT', `"${field}"[${i}] must be a string, got ${Array.isArray(item) ? 'a list' : typeof item}.`);
    if (item.length > MAX_TEXT_CHARS) throw new CorralError('INVALID_INPUT', `"${field}"[${i}] has ${item.length} characters; at most ${MAX_TEXT_CHARS}.`);
  });
  return list as string[];
}

/** One instruction for all texts, or one per text (Instructor-style models). */
export function checkInstructions(value: unknown, count: number): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return Array(count).fill(value);
  if (Array.isArray(value) && value.length === count && value.every((v) => typeof v === 'string')) return value as string[];
  throw new CorralError('INVALID_INPUT', `"instruction" must be a string or a list of ${count} strings, one per sentence.`);
}
