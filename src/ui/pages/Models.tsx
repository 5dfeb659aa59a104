import { useRef, useState } from 'preact/hooks';
import { api, ApiError, upload, type Upload } from '../api';
import { useConfirm } from '../components/Confirm';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { bytes, shape, time } from '../components/format';
import type { LiveState } from '../live';
import type { Model, ModelConfig, TensorSpec } from '../types';
import './Models.css';

type Confirm = (r: { title: string; message: string; confirm: string }) => Promise<boolean>;

/**
 * ONNX models in the repository (live): a drag-and-drop upload with progress
 * and cancel, the signature the server read from the file, and per model its
 * description, batching and timeout (PATCH .../config), Replace and Delete.
 */
export function Models({ live, can }: { live: LiveState; can: (scope: string) => boolean }) {
  const [dialog, confirm] = useConfirm();
  const [error, setError] = useState<{ err: unknown; retry?: () => void } | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const models = [...live.models.values()].sort((a, b) => a.model.localeCompare(b.model));
  const write = can('models:write');
  // A key that may neither infer nor write has no action to offer: no empty column.
  const actions = write || can('infer');

  const remove = async (m: Model) => {
    if (!(await confirm({ title: `Delete ${m.model}?`, message: `Version ${m.version} and its file are deleted; requests to it fail from now on.`, confirm: 'Delete' }))) return;
    const run = async () => {
      setError(null);
      try {
        await api(`/api/v1/models/${encodeURIComponent(m.model)}`, { method: 'DELETE' });
        if (open === m.model) setOpen(null);
      } catch (err) {
        setError({ err, retry: () => void run() });
      }
    };
    await run();
  };

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Models</h1>
      {write && <UploadForm models={live.models} confirm={confirm} />}
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      <h2>In the repository</h2>
      {!live.loaded ? <p role="status">Loading…</p> : models.length === 0 ? <p class="empty">No models yet.</p> : (
        <table class="models">
          <caption class="visually-hidden">Models</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Version</th><th scope="col">Inputs</th><th scope="col">Outputs</th><th scope="col">Batching</th><th scope="col">Size</th><th scope="col">Updated</th>{actions && <th scope="col">Actions</th>}</tr></thead>
          <tbody>
            {models.map((m) => [
              <tr key={m.model} data-model={m.model}>
                <th scope="row">{m.model}{m.description && <p class="muted description">{m.description}</p>}</th>
                <td>{m.version}</td>
                <td class="wrap"><Tensors specs={m.inputs} /></td>
                <td class="wrap"><Tensors specs={m.outputs} /></td>
                <td class="batching">
                  {m.dynamic_batching.max_batch_size > 1 ? `up to ${m.dynamic_batching.max_batch_size}, wait ${m.dynamic_batching.max_queue_delay_microseconds} µs` : 'off'}
                  {m.timeout_ms !== undefined && <div class="muted">timeout {m.timeout_ms} ms</div>}
                </td>
                <td>{bytes(m.size_bytes)}</td>
                <td>{time(m.updated_at)}</td>
                {actions && <td><div class="actions">
                  {can('infer') && <Link to={`/models/${encodeURIComponent(m.model)}/playground`}>Playground</Link>}
                  {write && (
                    <button type="button" class="secondary" aria-expanded={open === m.model} aria-controls={`settings-${m.model}`}
                      aria-label={`Settings of ${m.model}`} onClick={() => setOpen(open === m.model ? null : m.model)}>Settings</button>
                  )}
                  {write && <button type="button" class="danger" onClick={() => void remove(m)} aria-label={`Delete ${m.model}`}>Delete</button>}
                </div></td>}
              </tr>,
              open === m.model && write && (
                <tr key={`${m.model}-settings`} class="settings-row">
                  <td colSpan={8} id={`settings-${m.model}`}>
                    {/* Keyed by name: the fields start from the model once and then hold what is typed, whatever the live stream says. */}
                    <Settings key={m.model} model={m} onClose={() => setOpen(null)} />
                  </td>
                </tr>
              ),
            ])}
          </tbody>
        </table>
      )}
      {dialog}
    </section>
  );
}

function Tensors({ specs }: { specs: TensorSpec[] }) {
  return <>{specs.map((s) => <div key={s.name}><code>{s.name}</code> {s.datatype} {shape(s.shape)}</div>)}</>;
}

/** The file picker is a real <input type=file> (keyboard and screen readers use it as usual); the box around it also takes a drop. */
function UploadForm({ models, confirm }: { models: Map<string, Model>; confirm: Confirm }) {
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [dragging, setDragging] = useState(false);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<{ message: string; model?: Model } | null>(null);
  const current = useRef<Upload | null>(null);
  const input = useRef<HTMLInputElement>(null);
  const existing = models.get(name);

  const pick = (f: File | null) => {
    setFile(f);
    setDone(null);
    setError(null);
    if (f && name === '') setName(f.name);
  };

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const f = e.dataTransfer?.files[0];
    if (!f) return;
    // Also put the file in the input, so what it shows matches what will be sent.
    if (input.current && e.dataTransfer) input.current.files = e.dataTransfer.files;
    pick(f);
  };

  const start = async (e?: Event) => {
    e?.preventDefault();
    if (!file || !name) return;
    const replacing = models.get(name);
    if (replacing && !(await confirm({
      title: `Replace ${name}?`,
      message: `${file.name} replaces version ${replacing.version} and becomes version ${replacing.version + 1}. Requests already running finish on version ${replacing.version}; new ones use the new file.`,
      confirm: 'Replace',
    }))) return;
    setError(null);
    setDone(null);
    setProgress(0);
    const u = upload('PUT', `/api/v1/models/${encodeURIComponent(name)}`, 'path', file, setProgress);
    current.current = u;
    try {
      const body = await u.done as Model & { http_status?: { description?: string } };
      setDone({ message: body.http_status?.description ?? `Model ${name} uploaded`, model: body });
      setFile(null);
      setName('');
      if (input.current) input.current.value = '';
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'CANCELLED')) setError(err);
      else setDone({ message: 'Upload cancelled: nothing was changed.' });
    } finally {
      current.current = null;
      setProgress(null);
    }
  };

  const percent = progress === null ? 0 : Math.round(progress * 100);
  return (
    <form class="card upload" onSubmit={start} aria-labelledby="upload-title">
      <h2 id="upload-title">Upload an ONNX model</h2>
      <div class="row">
        <div class={`dropzone field${dragging ? ' dragging' : ''}`} data-testid="dropzone"
          onDragOver={(e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; setDragging(true); }}
          onDragLeave={() => setDragging(false)} onDrop={onDrop}>
          <label for="model-file">Model file (.onnx)</label>
          <input ref={input} id="model-file" type="file" accept=".onnx" required aria-describedby="model-file-hint"
            onChange={(e) => pick((e.currentTarget as HTMLInputElement).files?.[0] ?? null)} />
          <small id="model-file-hint" class="muted">
            {dragging ? 'Drop the file to choose it.' : 'Choose a file, or drag one onto this box.'}
            {file && ` Chosen: ${file.name} (${bytes(file.size)}).`}
          </small>
        </div>
        <div class="field">
          <label for="model-name">Name</label>
          <input id="model-name" type="text" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]*" value={name}
            onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} aria-describedby="model-name-hint" />
          <small id="model-name-hint" class="muted">
            Used in URLs: /v2/models/&lt;name&gt;/infer.
            {existing && ` ${name} exists (version ${existing.version}): uploading replaces it as version ${existing.version + 1}.`}
          </small>
        </div>
      </div>
      <div class="row">
        <button type="submit" disabled={!file || !name || progress !== null}>{existing ? 'Replace…' : 'Upload'}</button>
        {progress !== null && (
          <>
            <label for="upload-progress" class="visually-hidden">Upload progress</label>
            <progress id="upload-progress" max={1} value={progress}>{percent}%</progress>
            <span aria-live="polite" data-testid="upload-state">{progress >= 1 ? 'Validating…' : `${percent}%`}</span>
            <button type="button" class="secondary" onClick={() => current.current?.abort()}>Cancel</button>
          </>
        )}
      </div>
      {done && (
        <div class="notice">
          <p class="done-message" role="status">{done.message}</p>
          {done.model && <Signature model={done.model} />}
        </div>
      )}
      {error !== null && <ErrorAlert error={error} onRetry={() => void start()} onDismiss={() => setError(null)} />}
    </form>
  );
}

/** What the server read from the file: the inputs and outputs requests must match. */
function Signature({ model }: { model: Model }) {
  const rows = [...model.inputs.map((t) => ['Input', t] as const), ...model.outputs.map((t) => ['Output', t] as const)];
  return (
    <table class="signature">
      <caption>Signature of {model.model}, version {model.version}</caption>
      <thead><tr><th scope="col">Kind</th><th scope="col">Name</th><th scope="col">Data type</th><th scope="col">Shape</th></tr></thead>
      <tbody>
        {rows.map(([kind, t]) => (
          <tr key={`${kind}-${t.name}`}><td>{kind}</td><th scope="row"><code>{t.name}</code></th><td>{t.datatype}</td><td>{shape(t.shape)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}

const BATCH_FIELDS = [
  { key: 'max_batch_size', label: 'Max batch size', hint: 'Requests joined into one run; 1 turns batching off.' },
  { key: 'max_queue_delay_microseconds', label: 'Max queue delay (µs)', hint: 'How long a request may wait for others to join its batch.' },
  { key: 'timeout_ms', label: 'Timeout (ms)', hint: 'Limit on one inference request.' },
] as const;
type BatchKey = (typeof BATCH_FIELDS)[number]['key'];

/** Description and batching of one model; the server validates, and its message stays next to what was typed. */
function Settings({ model, onClose }: { model: Model; onClose: () => void }) {
  const base = `/api/v1/models/${encodeURIComponent(model.model)}`;
  const [description, setDescription] = useState(model.description ?? '');
  const [descState, setDescState] = useState<{ busy?: boolean; saved?: string; error?: unknown }>({});
  const [values, setValues] = useState<Record<BatchKey, string>>({
    max_batch_size: String(model.dynamic_batching.max_batch_size),
    max_queue_delay_microseconds: String(model.dynamic_batching.max_queue_delay_microseconds),
    timeout_ms: model.timeout_ms === undefined ? '' : String(model.timeout_ms),
  });
  const [batchState, setBatchState] = useState<{ busy?: boolean; saved?: string; error?: unknown }>({});
  const id = (k: string) => `${k}-${model.model}`;

  const saveDescription = async (e?: Event) => {
    e?.preventDefault();
    setDescState({ busy: true });
    try {
      const body = await api<{ http_status: { description: string } }>(base, { method: 'POST', json: { model_description: description } });
      setDescState({ saved: body.http_status.description });
    } catch (error) {
      setDescState({ error });
    }
  };

  const saveBatching = async (e?: Event) => {
    e?.preventDefault();
    // Sent as typed (a number where it is one), so the server's own validation speaks; an empty field is left unchanged.
    const json: Record<string, unknown> = {};
    for (const { key } of BATCH_FIELDS) {
      const v = values[key].trim();
      if (v !== '') json[key] = Number.isNaN(Number(v)) ? v : Number(v);
    }
    setBatchState({ busy: true });
    try {
      const body = await api<ModelConfig & { http_status: { description: string } }>(`${base}/config`, { method: 'PATCH', json });
      setValues({
        max_batch_size: String(body.dynamic_batching.max_batch_size),
        max_queue_delay_microseconds: String(body.dynamic_batching.max_queue_delay_microseconds),
        timeout_ms: String(body.timeout_ms),
      });
      setBatchState({ saved: body.http_status.description });
    } catch (error) {
      setBatchState({ error });
    }
  };

  // The schema's message names the field (body/max_batch_size ...): show it there too.
  const message = batchState.error instanceof Error ? batchState.error.message : '';
  const invalid = BATCH_FIELDS.find((f) => new RegExp(`\\b${f.key}\\b`).test(message))?.key;

  return (
    <div class="settings">
      <h3 class="visually-hidden">Settings of {model.model}</h3>
      <form onSubmit={(e) => void saveDescription(e)} aria-label={`Description of ${model.model}`}>
        <div class="field">
          <label for={id('description')}>Description</label>
          <textarea id={id('description')} rows={3} maxLength={10_000} value={description}
            onInput={(e) => setDescription((e.currentTarget as HTMLTextAreaElement).value)} />
        </div>
        <div class="row">
          <button type="submit" disabled={descState.busy}>Save description</button>
          {descState.saved && <span role="status">{descState.saved}</span>}
        </div>
        {descState.error !== undefined && <ErrorAlert error={descState.error} onRetry={() => void saveDescription()} onDismiss={() => setDescState({})} />}
      </form>
      <form onSubmit={(e) => void saveBatching(e)} aria-label={`Batching of ${model.model}`} noValidate>
        <fieldset>
          <legend>Dynamic batching and timeout</legend>
          <div class="row">
            {BATCH_FIELDS.map((f) => (
              <div class="field" key={f.key}>
                <label for={id(f.key)}>{f.label}</label>
                <input id={id(f.key)} type="number" step={1} inputMode="numeric" value={values[f.key]}
                  aria-invalid={invalid === f.key ? 'true' : undefined}
                  aria-describedby={`${id(f.key)}-hint${invalid === f.key ? ` ${id('batch-error')}` : ''}`}
                  onInput={(e) => setValues({ ...values, [f.key]: (e.currentTarget as HTMLInputElement).value })} />
                <small id={`${id(f.key)}-hint`} class="muted">{f.hint}</small>
              </div>
            ))}
          </div>
        </fieldset>
        {batchState.error !== undefined && (
          <div id={id('batch-error')}>
            <ErrorAlert error={batchState.error} onRetry={() => void saveBatching()} onDismiss={() => setBatchState({})} />
          </div>
        )}
        <div class="row">
          <button type="submit" disabled={batchState.busy}>Save batching</button>
          <button type="button" class="secondary" onClick={onClose}>Close</button>
          {batchState.saved && <span role="status">{batchState.saved}</span>}
        </div>
      </form>
    </div>
  );
}
