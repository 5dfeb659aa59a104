/**
 * What each task's runtime takes and returns inside a worker. The gateway's
 * routes build these inputs and shape these outputs into each API's JSON; the
 * batcher stacks text inputs with textListCodec.
 */

/** Input of every text task that batches: one item per text. */
export interface TextListInput {
  texts: string[];
  /** Per-text instruction for Instructor-style embedding models ('' = none). */
  instructions?: string[];
  /** Task options that must match for two requests to share a batch (labels, topK, ...). */
  options?: Record<string, unknown>;
}

/** Output of every text task that batches: `results[i]` answers `texts[i]`. */
export interface TextListOutput<T> {
  results: T[];
}

export interface EmbeddingResult {
  embedding: Float32Array;
  /** Tokens the text was split into (for usage accounting). */
  tokens: number;
}

export interface LabelScore {
  label: string;
  score: number;
}

export interface TokenEntity {
  entity: string;
  score: number;
  index: number;
  word: string;
  start?: number;
  end?: number;
}

export interface ZeroShotResult {
  labels: string[];
  scores: number[];
}

export interface Keyterm {
  term: string;
  score: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** Input of text-generation (may stream; greedy requests batch as a GenerateBatchInput). */
export interface GenerateInput {
  prompt?: string;
  messages?: ChatMessage[];
  maxNewTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  doSample?: boolean;
  stop?: string[];
  /** Seeds the sampler (with doSample) so the same request gives the same text. */
  seed?: number;
}

export interface GenerateOutput {
  text: string;
  promptTokens: number;
  completionTokens: number;
  finishReason: 'stop' | 'length';
  /**
   * Why generation ended, in TGI's words: `length` once max new tokens were made
   * (checked first, as TGI does), else `eos_token` or `stop_sequence` (a stop string).
   */
  stopReason?: 'eos_token' | 'length' | 'stop_sequence';
}

/** A streamed piece of generated text, emitted as tokens are produced. */
export interface GenerateChunk {
  text: string;
}

/** Several text-generation requests run as one generate() call: `requests[i]` is member i. */
export interface GenerateBatchInput {
  requests: GenerateInput[];
}

/** `results[i]` answers `requests[i]`. */
export interface GenerateBatchOutput {
  results: GenerateOutput[];
}

/**
 * A streamed piece of a batch: one generation step's news for its members, each
 * tagged with the member's index: a text delta, or that member's final output once
 * it has ended (the others may still be generating). One chunk per step, not per
 * member, so a batch costs the same number of worker messages as a single request.
 */
export interface GenerateBatchChunk {
  rows: Array<{ index: number; text: string } | { index: number; output: GenerateOutput }>;
}

export interface OcrInput {
  /** Encoded image bytes (PNG, JPEG, ...). */
  image: Uint8Array;
  /** The request's choice of engine; the service's `engine` option otherwise (default `auto`). */
  engine?: 'auto' | 'paddle' | 'tesseract';
  /** Tesseract's language data (`eng`, `deu`, ...: an installed `@tesseract.js-data/<lang>`); the service's `lang` otherwise. */
  lang?: string;
}

export interface OcrLine {
  text: string;
  confidence: number;
  /** Corner points [[x,y], ...] of the line's box, in image pixels. */
  box: number[][];
  /** The engine whose reading of the line this is. */
  engine?: 'paddle' | 'tesseract';
}

export interface OcrOutput {
  lines: OcrLine[];
}
