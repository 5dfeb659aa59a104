/** A server-sent events client for tests: keeps every event and lets a test wait (bounded) for the next one it wants. */
export interface Sse { id: number | undefined; event: string; data: any }

export class EventStream {
  readonly events: Sse[] = [];
  readonly comments: string[] = [];
  private read = 0;
  private wake: () => void = () => undefined;
  /** Settles when the body ends: the server closed the stream (or close() aborted it). */
  private ended: Promise<void> = Promise.resolve();
  private constructor(readonly res: Response, private readonly abort: AbortController) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<EventStream> {
    const abort = new AbortController();
    const res = await fetch(url, { headers, signal: abort.signal });
    const stream = new EventStream(res, abort);
    if (res.ok) stream.ended = stream.pump();
    return stream;
  }

  private async pump(): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of this.res.body!) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = new Map<string, string>();
          for (const line of block.split('\n')) {
            if (line.startsWith(': ')) this.comments.push(line.slice(2));
            else fields.set(line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2));
          }
          if (fields.has('data')) {
            this.events.push({ id: fields.has('id') ? Number(fields.get('id')) : undefined, event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data')!) });
          }
          this.wake();
        }
      }
    } catch {
      // aborted by close()
    }
  }

  /** The next event (after the last one returned) that `wanted` accepts; fails naming what came instead. */
  async next(what: string, wanted: (e: Sse) => boolean = () => true, timeoutMs = 20_000): Promise<Sse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex((e, index) => index >= this.read && wanted(e));
      if (i >= 0) {
        this.read = i + 1;
        return this.events[i]!;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = this.events.slice(this.read).map((e) => `${e.id} ${e.event} ${JSON.stringify(e.data).slice(0, 120)}`);
        throw new Error(`no ${what} within ${timeoutMs} ms (HTTP ${this.res.status}); the stream sent meanwhile:\n${seen.join('\n') || '(nothing)'}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => { clearTimeout(timer); resolve(); };
      });
    }
  }

  /** Waits (bounded) for the server to end the stream; fails if it is still open. */
  async serverEnded(what: string, timeoutMs = 20_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); });
    const late = await Promise.race([this.ended.then(() => false), timedOut]);
    clearTimeout(timer);
    if (late) throw new Error(`the stream was not ended (${what}) within ${timeoutMs} ms`);
  }

  close(): void {
    this.abort.abort();
  }
}
