// Follows a transformers.js generate() call token by token (as its streamer): decodes
// the completion, cuts it at the first stop string (and then interrupts generation),
// and emits text deltas whose concatenation is exactly the final text.

import { BaseStreamer, InterruptableStoppingCriteria, type PreTrainedTokenizer } from '@huggingface/transformers';
import type { GenerateChunk } from '../task-io.js';

/** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
function partialStopLength(text: string, stops: readonly string[]): number {
  let hold = 0;
  for (const stop of stops) {
    for (let k = Math.min(stop.length - 1, text.length); k > hold; k--) {
      if (text.endsWith(stop.slice(0, k))) {
        hold = k;
        break;
      }
    }
  }
  return hold;
}

/** Index of the earliest occurrence of any stop string in `text`, or -1. */
function firstStop(text: string, stops: readonly string[]): number {
  let first = -1;
  for (const stop of stops) {
    const at = text.indexOf(stop);
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return first;
}

function commonPrefixLength(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

export class GenerationStream extends BaseStreamer {
  /** Pass to generate() as stopping_criteria: fires once a stop string appears. */
  readonly criteria = new InterruptableStoppingCriteria();
  /** Whether a stop string ended the generation. */
  stoppedByString = false;

  private readonly ids: bigint[] = [];
  private promptSkipped = false;
  /** The completion decoded so far, cut at a stop string. */
  private text = '';
  /** The concatenation of every delta emitted so far. */
  private emitted = '';

  constructor(
    private readonly tokenizer: PreTrainedTokenizer,
    private readonly stops: readonly string[],
    private readonly emit?: (chunk: GenerateChunk) => void,
  ) {
    super();
  }

  /** generate() calls this first with the prompt ids, then with each new token. */
  override put(value: bigint[][]): void {
    if (!this.promptSkipped) {
      this.promptSkipped = true;
      return;
    }
    if (this.stoppedByString) return;
    this.ids.push(...value[0]!);
    let text = this.tokenizer.decode(this.ids, { skip_special_tokens: true });
    const stop = firstStop(text, this.stops);
    if (stop >= 0) {
      text = text.slice(0, stop);
      this.stoppedByString = true;
      this.criteria.interrupt();
    }
    this.text = text;
    if (this.stoppedByString) {
      this.flush(text.length);
      return;
    }
    // Hold back what may still become a stop string, and incomplete UTF-8 (U+FFFD).
    let safe = text.length - partialStopLength(text, this.stops);
    while (safe > 0 && text[safe - 1] === '\uFFFD') safe--;
    this.flush(safe);
  }

  override end(): void {}

  private flush(upTo: number): void {
    // Tokenizers whose decoding revises earlier text (space clean-up) wait for finish().
    if (upTo <= this.emitted.length || !this.text.startsWith(this.emitted)) return;
    this.send(this.text.slice(this.emitted.length, upTo));
  }

  private send(delta: string): void {
    if (delta === '') return;
    this.emitted += delta;
    this.emit?.({ text: delta });
  }

  /** Emits the rest and returns the final text, always equal to the concatenated deltas. */
  finish(): string {
    // Normally the streamed text is a prefix of the final text; if the decoder revised
    // already streamed characters, the stream cannot be taken back, so it wins.
    this.send(this.text.slice(commonPrefixLength(this.text, this.emitted)));
    return this.emitted;
  }
}
