import { EXIT, ExitError } from './exit-error.js';

/** Parses a whole-number flag, failing with a one-line usage error (exit 2). */
export function wholeNumber(flag: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new ExitError(`${flag} must be a whole number from ${min} to ${max}, got '${value}'.`, EXIT.USAGE);
    return n;
  };
}
