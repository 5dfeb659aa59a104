import { useState } from 'preact/hooks';
import { api } from '../../api';
import { ErrorAlert } from '../../components/ErrorAlert';
import type { Service } from '../../types';
import type { LabelScore, ZeroShotResult } from '../../../runtimes/task-io';
import { lastRequests } from '../snippets';
import { LabelBars } from './LabelBars';
import './TextClassification.css';

const EXAMPLES: Record<string, string> = {
  'text-classification': 'I love this great movie\nWhat an awful, boring film',
  'zero-shot-classification': 'The match ended in a draw.\nThe government lost the vote.',
};
/** More labels than this are cut to the best ones, with a note saying so. */
const SHOWN = 10;

/**
 * Text classification and zero-shot classification through
 * POST /api/services/<name>/predict: one input a line, every label's score
 * (top_k as large as the API allows, so the scores of a softmax model add up
 * to 1) drawn as label, bar and number.
 */
export function TextClassification({ service }: { service: Service }) {
  const zeroShot = service.task === 'zero-shot-classification';
  const [text, setText] = useState(EXAMPLES[service.task] ?? '');
  const [labels, setLabels] = useState('sports, politics, food');
  const [multi, setMulti] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [result, setResult] = useState<Array<{ text: string; scores: LabelScore[] }> | null>(null);

  const run = async () => {
    const inputs = text.split('\n').map((s) => s.trim()).filter((s) => s !== '');
    if (inputs.length === 0) return;
    const candidates = labels.split(',').map((l) => l.trim()).filter((l) => l !== '');
    const body = zeroShot
      ? { inputs, parameters: { candidate_labels: candidates, multi_label: multi } }
      : { inputs, parameters: { top_k: 1000 } };
    const path = `/api/services/${encodeURIComponent(service.name)}/predict`;
    lastRequests.set(service.id, { path, body });
    setBusy(true);
    setError(null);
    try {
      const out = await api<LabelScore[][] | ZeroShotResult[]>(path, { method: 'POST', json: body });
      const scores = zeroShot
        ? (out as ZeroShotResult[]).map((r) => r.labels.map((label, i) => ({ label, score: r.scores[i] ?? 0 })))
        : (out as LabelScore[][]);
      setResult(inputs.map((t, i) => ({ text: t, scores: scores[i] ?? [] })));
    } catch (err) {
      setError({ err, retry: () => void run() });
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="text-classification">
      <form onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <div class="field">
          <label for="tc-input">Texts (one a line)</label>
          <textarea id="tc-input" rows={4} value={text} onInput={(e) => setText((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        {zeroShot && (
          <div class="row">
            <div class="field">
              <label for="tc-labels">Candidate labels (comma-separated)</label>
              <input id="tc-labels" value={labels} onInput={(e) => setLabels((e.currentTarget as HTMLInputElement).value)} />
            </div>
            <label class="check"><input type="checkbox" checked={multi} onChange={(e) => setMulti((e.currentTarget as HTMLInputElement).checked)} /> Several labels can be true</label>
          </div>
        )}
        <button type="submit" disabled={busy || text.trim() === '' || (zeroShot && labels.trim() === '')}>{busy ? 'Classifying…' : 'Classify'}</button>
      </form>
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {result && (
        <ol class="tc-results" data-testid="classification" aria-label="Scores per text">
          {result.map((r, i) => (
            <li key={i} class="tc-result">
              <p class="tc-text"><span class="muted">{i + 1}.</span> {r.text}</p>
              <LabelBars items={r.scores.slice(0, SHOWN)} label={`Scores of text ${i + 1}`} />
              {r.scores.length > SHOWN && <p class="muted small">The best {SHOWN} of {r.scores.length} labels.</p>}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
