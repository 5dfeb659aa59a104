// Turns a growing list of token ids into text deltas without decoding the whole
// list at every step (which costs O(n) a token, and a batch pays it for every row).
// The window scheme of Hugging Face's text-generation-inference: decode the tokens
// since `prefix` with and without the newest ones; the difference is the new text.
// Keeping the earlier tokens in the window lets decoders that treat a sequence's
// first token specially (SentencePiece's leading space) see the same first token
// both times; text ending in U+FFFD (a character whose bytes are still incomplete)
// waits for the next token.

import type { PreTrainedTokenizer } from '@huggingface/transformers';

export class IncrementalDecoder {
  private readonly ids: bigint[] = [];
  /** Where the window starts, and where its already-emitted part ends. */
  private prefix = 0;
  private read = 0;

  constructor(private readonly tokenizer: PreTrainedTokenizer) {}

  private decode(from: number, to = this.ids.length): string {
    return to > from ? this.tokenizer.decode(this.ids.slice(from, to), { skip_special_tokens: true }) : '';
  }

  /** Takes the next token; returns the text it completes ('' while a character is incomplete). */
  push(token: bigint): string {
    this.ids.push(token);
    const before = this.decode(this.prefix, this.read);
    const after = this.decode(this.prefix);
    if (after.length <= before.length || after.endsWith('\uFFFD')) return '';
    this.prefix = this.read;
    this.read = this.ids.length;
    return after.slice(before.length);
  }

  /** What the tokens not yet returned decode to, incomplete characters included. */
  rest(): string {
    const before = this.decode(this.prefix, this.read);
    const after = this.decode(this.prefix);
    this.prefix = this.read = this.ids.length;
    return after.slice(before.length);
  }
}
