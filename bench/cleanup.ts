/**
 * Everything the bench starts (servers, `corral worker` processes, temp
 * directories, Redis keys) registers how to undo it here; the steps run in
 * reverse order on success, on error and on Ctrl-C, each at most once.
 */
export class Cleanup {
  private readonly steps: { what: string; undo: () => Promise<void> | void }[] = [];
  private running: Promise<void> | undefined;

  constructor(private readonly log: (line: string) => void) {}

  /** Registers a step; the returned function runs it now (and only once). */
  add(what: string, undo: () => Promise<void> | void): () => Promise<void> {
    const step = { what, undo };
    this.steps.push(step);
    return async () => {
      const i = this.steps.indexOf(step);
      if (i < 0) return;
      this.steps.splice(i, 1);
      await undo();
    };
  }

  /** Runs every remaining step, newest first; a failing step is logged and the rest still run. */
  run(): Promise<void> {
    // Chained, so a second call (Ctrl-C during the normal clean-up) waits for the first.
    this.running = (this.running ?? Promise.resolve()).then(async () => {
      while (this.steps.length > 0) {
        const step = this.steps.pop()!;
        try {
          await step.undo();
        } catch (err) {
          this.log(`cleanup: ${step.what} failed: ${(err as Error).message}`);
        }
      }
    });
    return this.running;
  }
}
