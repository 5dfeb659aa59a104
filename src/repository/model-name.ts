import { CorralError } from '../errors/index.js';

const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Model names become directory names, so anything that could escape the
 * repository ("..", "/", "\\", NUL, a leading dot) is refused before any I/O.
 */
export function validateModelName(name: string): string {
  if (!MODEL_NAME.test(name) || name.includes('..')) {
    throw new CorralError('INVALID_MODEL_NAME', `Invalid model name '${name.slice(0, 140)}': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, and no '..'.`);
  }
  return name;
}
