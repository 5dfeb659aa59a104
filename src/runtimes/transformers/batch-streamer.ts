// Follows one transformers.js generate() call over a batch of rows (one row for a
// single request). generate() hands its streamer each step's new token of every row,
// then asks its stopping criteria whether every row is done. It cannot drop a row
// that has ended: it keeps stepping it, and its own end-of-sequence criterion forgets
// the row's EOS one step later. So each row's end is decided and remembered here (its
// EOS, its stop string, its own token budget) and the batch stops once all have ended.

import { BaseStreamer, StoppingCriteria } from '@huggingface/transformers';
import type { GenerationStream } from './generation-stream.js';

export interface Row {
  stream: GenerationStream;
  maxNewTokens: number;
}

export interface RowEnd {
  /** The row's generated tokens, up to and including the one that ended it. */
  tokens: bigint[];
  stoppedByString: boolean;
  /** Its final text (every delta has been emitted). */
  text: string;
}

/** Whether each row has ended, as generate() asks after every step. */
class EndedRows extends StoppingCriteria {
  constructor(private readonly ended: readonly boolean[]) {
    super();
  }

  override _call(): boolean[] {
    return [...this.ended];
  }
}

export class BatchStreamer extends BaseStreamer {
  /** Pass to generate() as stopping_criteria. */
  readonly criteria: StoppingCriteria;
  private readonly ended: boolean[];
  private readonly tokens: bigint[][];
  private promptSkipped = false;

  constructor(
    private readonly rows: readonly Row[],
    /** Token ids that end a row (the generation config's eos_token_id). */
    private readonly eos: ReadonlySet<bigint>,
    /** Called once per row, at the step that ended it. */
    private readonly onRowEnd: (row: number, end: RowEnd) => void,
    /** Called after each step, once every row has taken its token. */
    private readonly onStep?: () => void,
  ) {
    super();
    this.ended = rows.map(() => false);
    this.tokens = rows.map(() => []);
    this.criteria = new EndedRows(this.ended);
  }

  /** generate() calls this first with the (padded) prompts, then with each step's tokens, one per row. */
  override put(value: bigint[][]): void {
    if (!this.promptSkipped) {
      this.promptSkipped = true;
      return;
    }
    value.forEach((step, i) => {
      const row = this.rows[i]!;
      if (this.ended[i]) return;
      const token = step[0]!;
      this.tokens[i]!.push(token);
      const stopped = row.stream.push(token);
      if (stopped || this.eos.has(token) || this.tokens[i]!.length >= row.maxNewTokens) this.endRow(i);
    });
    this.onStep?.();
  }

  /** generate() has returned: a row not ended yet (the model's own length limit) ends now. */
  override end(): void {
    this.rows.forEach((_, i) => {
      if (!this.ended[i]) this.endRow(i);
    });
    this.onStep?.();
  }

  private endRow(i: number): void {
    this.ended[i] = true;
    const stream = this.rows[i]!.stream;
    const text = stream.finish();
    this.onRowEnd(i, { tokens: this.tokens[i]!, stoppedByString: stream.stoppedByString, text });
  }
}
