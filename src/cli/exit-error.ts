/** Exit codes the CLI ends with, so scripts can tell failures apart. */
export const EXIT = {
  OK: 0,
  /** The operation failed (server said no, service FAILED). */
  FAILURE: 1,
  /** Bad flags or arguments. */
  USAGE: 2,
  /** The gateway could not be reached. */
  UNREACHABLE: 3,
  /** The thing named does not exist. */
  NOT_FOUND: 4,
} as const;

/** Thrown by commands to end with a message and exit code; only main.ts exits the process. */
export class ExitError extends Error {
  constructor(message: string, readonly exitCode: number = EXIT.FAILURE) {
    super(message);
  }
}
