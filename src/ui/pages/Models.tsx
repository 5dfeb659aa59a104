import { useRef, useState } from 'preact/hooks';
import { api, ApiError, upload, type Upload } from '../api';
import { useConfirm } from '../components/Confirm';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { bytes, shape, time } from '../components/format';
import type { LiveState } from '../live';
import type { Model } from '../types';

/** ONNX models in the repository (live), an upload with progress and cancel, delete. */
export function Models({ live, can }: { live: LiveState; can: (scope: string) => boolean }) {
  const [dialog, confirm] = useConfirm();
  const [error, setError] = useState<{ err: unknown; retry?: () => void } | null>(null);
  const models = [...live.models.values()].sort((a, b) => a.model.localeCompare(b.model));

  const remove = async (m: Model) => {
    if (!(await confirm({ title: `Delete ${m.model}?`, message: `Version ${m.version} and its file are deleted; requests to it fail from now on.`, confirm: 'Delete' }))) return;
    const run = async () => {
      setError(null);
      try {
        await api(`/api/v1/models/${encodeURIComponent(m.model)}`, { method: 'DELETE' });
      } catch (err) {
        setError({ err, retry: () => void run() });
      }
    };
    await run();
  };

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Models</h1>
      {can('models:write') && <UploadForm existing={(name) => live.models.has(name)} confirm={confirm} />}
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      <h2>In the repository</h2>
      {!live.loaded ? <p role="status">Loading…</p> : models.length === 0 ? <p class="empty">No models yet.</p> : (
        <table>
          <caption class="visually-hidden">Models</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Inputs</th><th scope="col">Outputs</th><th scope="col">Size</th><th scope="col">Updated</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.model}>
                <th scope="row">{m.model}{m.description && <p class="muted">{m.description}</p>}</th>
                <td>{m.version}</td>
                <td class="wrap">{m.inputs.map((i) => <div><code>{i.name}</code> {i.datatype} {shape(i.shape)}</div>)}</td>
                <td class="wrap">{m.outputs.map((o) => <div><code>{o.name}</code> {o.datatype} {shape(o.shape)}</div>)}</td>
                <td>{bytes(m.size_bytes)}</td>
                <td>{time(m.updated_at)}</td>
                <td><div class="actions">
                  {can('infer') && <Link to={`/models/${encodeURIComponent(m.model)}/playground`}>Playground</Link>}
                  {can('models:write') && <button type="button" class="danger" onClick={() => void remove(m)} aria-label={`Delete ${m.model}`}>Delete</button>}
                </div></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {dialog}
    </section>
  );
}

type Confirm = (r: { title: string; message: string; confirm: string }) => Promise<boolean>;

function UploadForm({ existing, confirm }: { existing: (name: string) => boolean; confirm: Confirm }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const current = useRef<Upload | null>(null);

  const start = async (e?: Event) => {
    e?.preventDefault();
    if (!file || !name) return;
    if (existing(name) && !(await confirm({ title: `Replace ${name}?`, message: 'The new file becomes the next version of the model.', confirm: 'Replace' }))) return;
    setError(null);
    setDone(null);
    setProgress(0);
    const u = upload('PUT', `/api/v1/models/${encodeURIComponent(name)}`, 'path', file, setProgress);
    current.current = u;
    try {
      const body = await u.done as { http_status?: { description?: string } };
      setDone(body.http_status?.description ?? `Model ${name} uploaded`);
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CANCELLED')) setError(err);
      else setDone('Upload cancelled.');
    } finally {
      current.current = null;
      setProgress(null);
    }
  };

  return (
    <form class="card upload" onSubmit={start} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload an ONNX model</h2>
      <div class="row">
        <div class="field">
          <label for="model-file">Model file (.onnx)</label>
          <input id="model-file" type="file" accept=".onnx" required onChange={(e) => {
            const f = (e.currentTarget as HTMLInputElement).files?.[0] ?? null;
            setFile(f);
            if (f && name === '') setName(f.name);
          }} />
        </div>
        <div class="field">
          <label for="model-name">Name</label>
          <input id="model-name" type="text" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} aria-describedby="model-name-hint" />
          <small id="model-name-hint" class="muted">Used in URLs: /v2/models/&lt;name&gt;/infer</small>
        </div>
      </div>
      <div class="row">
        <button type="submit" disabled={!file || !name || progress !== null}>Upload</button>
        {progress !== null && (
          <>
            <label for="upload-progress" class="visually-hidden">Upload progress</label>
            <progress id="upload-progress" max={1} value={progress}>{Math.round(progress * 100)}%</progress>
            <span aria-live="polite">{progress >= 1 ? 'Validating…' : `${Math.round(progress * 100)}%`}</span>
            <button type="button" class="secondary" onClick={() => current.current?.abort()}>Cancel</button>
          </>
        )}
      </div>
      {done && <p role="status" class="notice">{done}</p>}
      {error !== null && <ErrorAlert error={error} onRetry={() => void start()} onDismiss={() => setError(null)} />}
    </form>
  );
}
