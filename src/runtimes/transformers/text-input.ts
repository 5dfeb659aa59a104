// Checks the TextListInput every batched text task receives, so bad requests fail
// with a message that says what is wrong instead of deep inside the tokenizer.

import { InvalidInputError } from '../input-error.js';
import type { TextListInput } from '../task-io.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function readTextList(input: unknown, task: string): TextListInput {
  if (!isRecord(input)) throw new InvalidInputError(`${task}: input must be an object { texts: string[] }`);
  const { texts, instructions, options } = input;
  if (!Array.isArray(texts) || texts.length === 0) throw new InvalidInputError(`${task}: texts must be a non-empty array of strings`);
  texts.forEach((text, i) => {
    if (typeof text !== 'string') throw new InvalidInputError(`${task}: texts[${i}] must be a string`);
    if (text.trim() === '') throw new InvalidInputError(`${task}: texts[${i}] is empty`);
  });
  const list: TextListInput = { texts: texts as string[] };
  if (instructions !== undefined) {
    if (!Array.isArray(instructions) || instructions.length !== texts.length) {
      throw new InvalidInputError(`${task}: instructions must be an array with one string per text (${texts.length})`);
    }
    instructions.forEach((instruction, i) => {
      if (typeof instruction !== 'string') throw new InvalidInputError(`${task}: instructions[${i}] must be a string`);
    });
    list.instructions = instructions as string[];
  }
  if (options !== undefined) {
    if (!isRecord(options)) throw new InvalidInputError(`${task}: options must be an object`);
    list.options = options;
  }
  return list;
}
