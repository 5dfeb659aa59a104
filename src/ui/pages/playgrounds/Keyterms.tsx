import { useState } from 'preact/hooks';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { Service } from '../../types';
import { lastRequests } from '../snippets';
import { occurrences, segments } from './highlight';
import './Keyterms.css';

const EXAMPLE = 'Machine learning models run in separate worker processes. Requests from many clients are batched together, '
  + 'and crashed workers are restarted without losing a request. The gateway serves machine learning models over HTTP.';

interface Term { term: string; score: number; spans: Array<[number, number]> }

/**
 * POST /keyterms with the whole text as one document: its keyterms marked in
 * the text (<mark>, so not by colour alone) and ranked with their scores.
 * Hovering or focusing a keyterm in the list marks its occurrences more
 * strongly; clicking it keeps them so.
 */
export function Keyterms({ service }: { service: Service }) {
  const [text, setText] = useState(EXAMPLE);
  const [top, setTop] = useState(8);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  // The text as sent: the marks stay right while the textarea is edited.
  const [result, setResult] = useState<{ text: string; terms: Term[] } | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const [pinned, setPinned] = useState<number | null>(null);

  const run = async () => {
    const sent = text;
    if (sent.trim() === '') return;
    const body = { sentences: [sent], top, model: service.name };
    lastRequests.set(service.id, { path: '/keyterms', body });
    setBusy(true);
    setError(null);
    try {
      const out = await api<{ keyterms: string[][]; scores: number[][] }>('/keyterms', { method: 'POST', json: body });
      const terms = (out.keyterms[0] ?? []).map((term, i) => ({ term, score: out.scores[0]?.[i] ?? 0, spans: occurrences(sent, term) }));
      setResult({ text: sent, terms });
      setHover(null);
      setPinned(null);
    } catch (err) {
      setError({ err, retry: () => void run() });
    } finally {
      setBusy(false);
    }
  };

  const shown = hover ?? pinned;
  const best = result ? Math.max(1e-9, ...result.terms.map((t) => t.score)) : 1;
  const pieces = result ? segments(result.text, result.terms.flatMap((t, key) => t.spans.map(([start, end]) => ({ start, end, key })))) : [];

  return (
    <div class="keyterms">
      <form onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <div class="field">
          <label for="kt-input">Text</label>
          <textarea id="kt-input" rows={6} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        <div class="row">
          <label for="kt-top">At most</label>
          <select id="kt-top" value={top} onChange={(e) => setTop(Number((e.currentTarget as HTMLSelectElement).value))}>
            {[3, 5, 8, 10, 15, 20].map((n) => <option key={n} value={n}>{n}</option>)}
          </select>
          <button type="submit" disabled={busy || text.trim() === ''}>{busy ? 'Extracting…' : 'Extract keyterms'}</button>
        </div>
      </form>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {result && (
        <div class="kt-result">
          <section aria-labelledby="kt-text-title">
            <h2 id="kt-text-title">Text with keyterms marked</h2>
            <p class="kt-text" data-testid="keyterm-text">
              {pieces.map((p, i) => (p.keys.length === 0 ? p.text : (
                <mark key={i} class={shown !== null && p.keys.includes(shown) ? 'on' : undefined} data-terms={p.keys.map((k) => result.terms[k]!.term).join('|')}
                  title={p.keys.map((k) => `#${k + 1} ${result.terms[k]!.term}`).join(', ')}>{p.text}</mark>
              )))}
            </p>
          </section>
          <section aria-labelledby="kt-list-title">
            <h2 id="kt-list-title">Keyterms, best first</h2>
            <p role="status" class="muted small">{result.terms.length === 0 ? 'No keyterms found in this text.' : `${result.terms.length} keyterm${result.terms.length === 1 ? '' : 's'}. Hover, focus or press one to mark where it occurs.`}</p>
            <ol class="kt-list" data-testid="keyterm-list">
              {result.terms.map((t, i) => (
                <li key={t.term} data-term={t.term} data-score={t.score}>
                  <button type="button" class={`kt-term${shown === i ? ' on' : ''}`} aria-pressed={pinned === i}
                    onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover(null)} onFocus={() => setHover(i)} onBlur={() => setHover(null)}
                    onClick={() => setPinned(pinned === i ? null : i)}>
                    <span class="kt-rank" aria-hidden="true">{i + 1}</span>
                    <span class="kt-name">{t.term}</span>
                    <span class="kt-track" aria-hidden="true"><span class="kt-fill" style={{ width: `${((t.score / best) * 100).toFixed(1)}%` }} /></span>
                    <span class="kt-score">{t.score.toFixed(3)}</span>
                    <span class="kt-count muted small">{t.spans.length === 1 ? '1 time' : `${t.spans.length} times`}</span>
                  </button>
                </li>
              ))}
            </ol>
          </section>
        </div>
      )}
    </div>
  );
}
