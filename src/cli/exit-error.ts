/** Thrown by commands to end with a message and exit code; only main.ts exits the process. */
export class ExitError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}
