import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { Service } from '../../types';
import type { TokenEntity } from '../../../runtimes/task-io';
import { lastRequests } from '../snippets';
import './TokenClassification.css';

const EXAMPLE = 'John lives in Paris and works at Google\nMary visited London and Tokyo';

export interface Entity { type: string; word: string; score: number; start?: number; end?: number }

/**
 * The API tags tokens one by one (B-PER, I-PER, ##pieces); a reader wants
 * entities: a token joins the one before when it is the next token, has the
 * same type and is an I- tag or a word piece.
 */
export function groupEntities(text: string, tokens: TokenEntity[]): Entity[] {
  const out: Array<Entity & { last: number; scores: number[] }> = [];
  for (const t of tokens) {
    const m = /^([BI])-(.+)$/.exec(t.entity);
    const type = m ? m[2]! : t.entity;
    const prev = out[out.length - 1];
    const piece = t.word.startsWith('##');
    if (prev && prev.type === type && prev.last + 1 === t.index && (m?.[1] === 'I' || piece)) {
      prev.last = t.index;
      prev.scores.push(t.score);
      if (prev.start !== undefined && t.end !== undefined) prev.end = t.end;
      prev.word = prev.start !== undefined && prev.end !== undefined ? text.slice(prev.start, prev.end) : `${prev.word}${piece ? t.word.slice(2) : ` ${t.word}`}`;
      continue;
    }
    const word = t.start !== undefined && t.end !== undefined ? text.slice(t.start, t.end) : t.word;
    out.push({ type, word, score: t.score, start: t.start, end: t.end, last: t.index, scores: [t.score] });
  }
  return out.map(({ type, word, scores, start, end }) => ({ type, word, score: scores.reduce((a, b) => a + b, 0) / scores.length, start, end }));
}

/** Token classification (named entities) through POST /api/services/<name>/predict: each text with its entities marked and labelled, then a table. */
export function TokenClassification({ service }: { service: Service }) {
  const [text, setText] = useState(EXAMPLE);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [result, setResult] = useState<Array<{ text: string; entities: Entity[] }> | null>(null);

  const run = async () => {
    const inputs = text.split('\n').map((s) => s.trim()).filter((s) => s !== '');
    if (inputs.length === 0) return;
    const body = { inputs };
    const path = `/api/services/${encodeURIComponent(service.name)}/predict`;
    lastRequests.set(service.id, { path, body });
    setBusy(true);
    setError(null);
    try {
      const out = await api<TokenEntity[][]>(path, { method: 'POST', json: body });
      setResult(inputs.map((t, i) => ({ text: t, entities: groupEntities(t, out[i] ?? []) })));
    } catch (err) {
      setError({ err, retry: () => void run() });
    } finally {
      setBusy(false);
    }
  };

  // The same type keeps the same border colour everywhere; the label text is what says it.
  const types = result ? [...new Set(result.flatMap((r) => r.entities.map((e) => e.type)))].sort() : [];
  const tone = (type: string) => `tone-${(types.indexOf(type) % 4) + 1}`;
  const count = result ? result.reduce((n, r) => n + r.entities.length, 0) : 0;

  return (
    <div class="token-classification">
      <form onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <div class="field">
          <label for="tok-input">Texts (one a line)</label>
          <textarea id="tok-input" rows={4} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        <button type="submit" disabled={busy || text.trim() === ''}>{busy ? 'Tagging…' : 'Find entities'}</button>
      </form>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {result && (
        <div class="tok-result">
          <p role="status" class="muted small">{count === 0 ? 'No entities found.' : `${count} entit${count === 1 ? 'y' : 'ies'} in ${result.length} text${result.length === 1 ? '' : 's'}.`}</p>
          <ol class="tok-texts" data-testid="entities-text" aria-label="Texts with their entities marked">
            {result.map((r, i) => <li key={i} class="tok-text">{marked(r.text, r.entities, tone)}</li>)}
          </ol>
          {count > 0 && (
            <table class="tok-table">
              <caption>Entities</caption>
              <thead><tr><th scope="col">Text</th><th scope="col">Entity</th><th scope="col">Type</th><th scope="col">Score</th><th scope="col">Characters</th></tr></thead>
              <tbody>
                {result.flatMap((r, i) => r.entities.map((e, j) => (
                  <tr key={`${i}-${j}`}>
                    <td>{i + 1}</td>
                    <th scope="row">{e.word}</th>
                    <td>{e.type}</td>
                    <td class="num">{e.score.toFixed(3)}</td>
                    <td class="num">{e.start !== undefined && e.end !== undefined ? `${e.start}–${e.end}` : '—'}</td>
                  </tr>
                )))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </div>
  );
}

/** A text with each entity that has character offsets wrapped in a <mark> that ends with its type, written out. */
function marked(text: string, entities: Entity[], tone: (type: string) => string) {
  const spans = entities.filter((e) => e.start !== undefined && e.end !== undefined).sort((a, b) => a.start! - b.start!);
  const out: Array<string | JSX.Element> = [];
  let at = 0;
  spans.forEach((e, k) => {
    if (e.start! < at) return; // overlapping offsets: keep the first
    if (e.start! > at) out.push(text.slice(at, e.start));
    out.push(
      <mark key={k} class={`ent ${tone(e.type)}`} data-entity={e.type}>
        {text.slice(e.start, e.end)}
        <span class="ent-label"> {e.type}</span>
      </mark>,
    );
    at = e.end!;
  });
  if (at < text.length) out.push(text.slice(at));
  return out;
}
