/** A piece of text and the indexes of the highlights that cover it (none: plain text). */
export interface Segment { text: string; keys: number[] }

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where a keyterm occurs in a text. Keyterms come lower-cased with single
 * spaces between words, so the match ignores case, lets any run of spaces or
 * hyphens stand between words, and must start and end on a word boundary.
 */
export function occurrences(text: string, term: string): Array<[number, number]> {
  const words = term.trim().split(/\s+/).filter((w) => w !== '').map(escape);
  if (words.length === 0) return [];
  const re = new RegExp(`(?<![\\p{L}\\p{N}])${words.join('[\\s\\-]+')}(?![\\p{L}\\p{N}])`, 'giu');
  return [...text.matchAll(re)].map((m) => [m.index!, m.index! + m[0].length]);
}

/**
 * Cuts a text at every edge of the given spans, so overlapping highlights
 * ("machine learning models" and "models") need no nested marks: each piece
 * knows every span that covers it.
 */
export function segments(text: string, spans: Array<{ start: number; end: number; key: number }>): Segment[] {
  const edges = [...new Set([0, text.length, ...spans.flatMap((s) => [s.start, s.end])])].sort((a, b) => a - b);
  const out: Segment[] = [];
  for (let i = 0; i + 1 < edges.length; i++) {
    const [a, b] = [edges[i]!, edges[i + 1]!];
    if (a === b) continue;
    const keys = [...new Set(spans.filter((s) => s.start <= a && s.end >= b).map((s) => s.key))].sort((x, y) => x - y);
    const last = out[out.length - 1];
    if (last && last.keys.join() === keys.join()) last.text += text.slice(a, b);
    else out.push({ text: text.slice(a, b), keys });
  }
  return out;
}
