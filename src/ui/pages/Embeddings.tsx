import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import type { Service } from '../types';
import { lastRequests } from './snippets';

const EXAMPLE = 'The sun rises in the east.\nCats are curious animals.\nRainbows appear after the rain.\nThe cat sat on the mat.';

export function cosine(a: number[], b: number[]): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Sentences in (one a line), their embeddings' cosine similarity matrix out, numbers in every cell. */
export function Embeddings({ service }: { service: Service }) {
  const [text, setText] = useState(EXAMPLE);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [result, setResult] = useState<{ sentences: string[]; matrix: number[][]; dims: number } | null>(null);

  const run = async () => {
    const sentences = text.split('\n').map((s) => s.trim()).filter((s) => s !== '');
    if (sentences.length === 0) return;
    const body = { sentences, model: service.name };
    lastRequests.set(service.id, { path: '/embed', body });
    setBusy(true);
    setError(null);
    try {
      const out = await api<{ embeddings: number[][] }>('/embed', { method: 'POST', json: body });
      const v = out.embeddings;
      setResult({ sentences, matrix: v.map((a) => v.map((b) => cosine(a, b))), dims: v[0]?.length ?? 0 });
    } catch (err) {
      setError({ err, retry: () => void run() });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="embeddings">
      <form onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <div class="field">
          <label for="emb-input">Sentences (one a line)</label>
          <textarea id="emb-input" rows={5} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        <button type="submit" disabled={busy || text.trim() === ''}>{busy ? 'Embedding…' : 'Compare'}</button>
      </form>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {result && (
        <div class="matrix-wrap">
          <table class="matrix" data-testid="similarity">
            <caption>Cosine similarity of {result.sentences.length} sentences ({result.dims}-dimensional embeddings)</caption>
            <thead><tr><td /> {result.sentences.map((_, j) => <th key={j} scope="col" title={result.sentences[j]}>{j + 1}</th>)}</tr></thead>
            <tbody>
              {result.matrix.map((row, i) => (
                <tr key={i}>
                  <th scope="row" class="sentence"><span class="muted">{i + 1}.</span> {result.sentences[i]}</th>
                  {row.map((v, j) => <td key={j} class="cell" style={{ '--v': Math.max(0, v).toFixed(3) }}>{v.toFixed(2)}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
