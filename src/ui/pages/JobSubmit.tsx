import { useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import type { LiveState } from '../live';
import { navigate } from '../router';
import type { Job, Model, Service } from '../types';

/** A starting input for a service's task route, so the form shows the shape it takes. */
function exampleInput(service: Service | undefined, model: Model | undefined): string {
  if (!service) return '';
  switch (service.task) {
    case 'feature-extraction':
    case 'keyterms': return JSON.stringify({ sentences: ['Corral serves machine learning models.'] }, null, 2);
    case 'text-generation': return JSON.stringify({ inputs: 'Once upon a time', parameters: { max_new_tokens: 20 } }, null, 2);
    case 'ocr': return JSON.stringify({ image: '<base64 PNG or JPEG>' }, null, 2);
    case 'tensor': {
      const inputs = (model?.inputs ?? []).map((i) => {
        const shape = i.shape.map((d) => (d < 0 ? 1 : d));
        return { name: i.name, shape, datatype: i.datatype, data: new Array(shape.reduce((a, b) => a * b, 1)).fill(0) };
      });
      return JSON.stringify({ inputs }, null, 2);
    }
    default: return JSON.stringify({ inputs: 'Corral is fast.' }, null, 2);
  }
}

/**
 * Submit an async job (POST /api/jobs): a running service or model, the body
 * its task route takes, an optional route and webhook. On 202 the new job's
 * page opens; the server's refusal is shown as it said it, the form kept.
 */
export function JobSubmit({ live }: { live: LiveState }) {
  const services = [...live.services.values()].filter((s) => s.status === 'RUNNING').sort((a, b) => a.name.localeCompare(b.name));
  const [service, setService] = useState('');
  const [input, setInput] = useState('');
  const [edited, setEdited] = useState(false);
  const [route, setRoute] = useState('');
  const [webhook, setWebhook] = useState('');
  const [inputError, setInputError] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const choose = (name: string) => {
    setService(name);
    // A fresh example for the new service, unless the input was typed in.
    if (!edited) {
      const s = services.find((x) => x.name === name);
      setInput(exampleInput(s, s ? live.models.get(s.name) : undefined));
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    let parsed: unknown;
    try {
      parsed = JSON.parse(input);
    } catch (err) {
      setInputError(`The input is not JSON: ${(err as Error).message}`);
      (document.getElementById('job-input') as HTMLTextAreaElement | null)?.focus();
      return;
    }
    setInputError(null);
    setError(null);
    setBusy(true);
    const request = { service, input: parsed, ...(route.trim() ? { route: route.trim() } : {}), ...(webhook.trim() ? { webhook: webhook.trim() } : {}) };
    try {
      const job = await api<Job>('/api/jobs', { method: 'POST', json: request });
      navigate(`/jobs/${encodeURIComponent(job.id)}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <form class="card job-submit" onSubmit={(e) => void submit(e)} aria-labelledby="submit-title">
      <h2 id="submit-title">Submit a job</h2>
      {error !== null && <ErrorAlert error={error} onDismiss={() => setError(null)} />}
      <div class="row">
        <div class="field">
          <label for="job-service">Service or model</label>
          <select id="job-service" required value={service} onChange={(e) => choose((e.currentTarget as HTMLSelectElement).value)}>
            <option value="" disabled>Choose a running service…</option>
            {services.map((s) => <option key={s.id} value={s.name}>{s.name} ({s.task})</option>)}
          </select>
        </div>
        <div class="field">
          <label for="job-route">Route (optional)</label>
          <input id="job-route" value={route} placeholder="the task's own route" aria-describedby="job-route-help" pattern="/?[A-Za-z0-9._/\-]+"
            onInput={(e) => setRoute((e.currentTarget as HTMLInputElement).value)} />
          <span id="job-route-help" class="muted small">e.g. v1/embeddings; empty sends the task's first route</span>
        </div>
      </div>
      <div class="field">
        <label for="job-input">Input (JSON body of the route)</label>
        <textarea id="job-input" rows={8} required value={input} spellcheck={false}
          aria-invalid={inputError ? 'true' : undefined} aria-describedby={inputError ? 'job-input-error' : undefined}
          onInput={(e) => { setInput((e.currentTarget as HTMLTextAreaElement).value); setEdited(true); }} />
        {inputError && <p id="job-input-error" class="field-error">{inputError}</p>}
      </div>
      <div class="field">
        <label for="job-webhook">Webhook URL (optional)</label>
        <input id="job-webhook" type="url" value={webhook} placeholder="https://example.com/hook" aria-describedby="job-webhook-help"
          onInput={(e) => setWebhook((e.currentTarget as HTMLInputElement).value)} />
        <span id="job-webhook-help" class="muted small">POSTed the finished job, signed with X-Corral-Signature</span>
      </div>
      <button type="submit" disabled={busy}>{busy ? 'Submitting…' : 'Submit job'}</button>
    </form>
  );
}
