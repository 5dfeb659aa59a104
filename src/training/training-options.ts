import { CorralError } from '../errors/index.js';

/** The longest a training job may be given: one week. */
const MAX_TIMEOUT_MINUTES = 7 * 24 * 60;
const UNITS: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** timeout_minutes: a positive number of minutes (fractions allowed), at most a week. */
export function parseTimeoutMinutes(raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.trim());
  if (!/^\d*\.?\d+$/.test(raw.trim()) || !(value > 0) || value > MAX_TIMEOUT_MINUTES) {
    throw new CorralError('BAD_REQUEST', `timeout_minutes must be a number of minutes above 0 and at most ${MAX_TIMEOUT_MINUTES}; got '${raw.slice(0, 40)}'.`);
  }
  return value;
}

/** memory: a size such as 512M, 2G, 1.5G or a number of bytes; at least 4M. Returns the text as given (upper-cased) and its bytes. */
export function parseMemory(raw: string | undefined): { text: string; bytes: number } | null {
  if (raw === undefined || raw.trim() === '') return null;
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(raw.trim());
  const bytes = match ? Math.floor(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!) : NaN;
  if (!match || !(bytes >= 4 * 1024 ** 2) || bytes > 2 ** 50) {
    throw new CorralError('BAD_REQUEST', `memory must be a size such as 512M or 2G (at least 4M); got '${raw.slice(0, 40)}'.`);
  }
  return { text: raw.trim().toUpperCase(), bytes };
}

/** cpus and gpus: whole numbers in a range. */
export function parseCount(name: string, raw: string | undefined, min: number, max: number): number | null {
  if (raw === undefined || raw.trim() === '') return null;
  if (!/^\d{1,4}$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new CorralError('BAD_REQUEST', `${name} must be a whole number from ${min} to ${max}; got '${raw.slice(0, 40)}'.`);
  }
  return Number(raw);
}

/** The file the script writes: the model name, with ".onnx" added when it has no such extension. */
export const outputFileName = (modelName: string) => (/\.onnx$/i.test(modelName) ? modelName : `${modelName}.onnx`);
