// Follows one sequence of a transformers.js generate() call token by token: decodes
// the completion incrementally, cuts it at the first stop string (which ends the
// sequence), and emits text deltas whose concatenation is exactly the final text.

import type { PreTrainedTokenizer } from '@huggingface/transformers';
import type { GenerateChunk } from '../task-io.js';
import { IncrementalDecoder } from './incremental-decoder.js';

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

export class GenerationStream {
  /** Whether a stop string ended the sequence. */
  stoppedByString = false;

  private readonly decoder: IncrementalDecoder;
  /** Everything decoded so far. */
  private decoded = '';
  /** The completion decoded so far, cut at a stop string. */
  private text = '';
  /** The concatenation of every delta emitted so far. */
  private emitted = '';

  constructor(
    tokenizer: PreTrainedTokenizer,
    private readonly stops: readonly string[],
    private readonly emit?: (chunk: GenerateChunk) => void,
  ) {
    this.decoder = new IncrementalDecoder(tokenizer);
  }

  /** Takes the sequence's next generated token; true once a stop string has appeared. */
  push(token: bigint): boolean {
    if (this.stoppedByString) return true;
    this.decoded += this.decoder.push(token);
    this.cut(this.decoded);
    if (this.stoppedByString) {
      this.flush(this.text.length);
      return true;
    }
    // Hold back what may still become a stop string.
    this.flush(this.text.length - partialStopLength(this.text, this.stops));
    return false;
  }

  /** Sets the text to `decoded`, cut at its first stop string (which ends the sequence). */
  private cut(decoded: string): void {
    let text = decoded;
    const stop = firstStop(text, this.stops);
    if (stop >= 0) {
      text = text.slice(0, stop);
      this.stoppedByString = true;
    }
    this.text = text;
  }

  private flush(upTo: number): void {
    if (upTo > this.emitted.length) this.send(this.text.slice(this.emitted.length, upTo));
  }

  private send(delta: string): void {
    if (delta === '') return;
    this.emitted += delta;
    this.emit?.({ text: delta });
  }

  /** Emits the rest (held-back text, an incomplete last character) and returns the final text, equal to the concatenated deltas. */
  finish(): string {
    if (!this.stoppedByString) this.cut(this.decoded += this.decoder.rest());
    this.flush(this.text.length);
    return this.emitted;
  }
}
