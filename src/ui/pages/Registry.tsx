import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { bytes } from '../components/format';
import type { Profile, RegistryEntry } from '../types';
import './admin.css';

type Scan = { state: 'loading' } | { state: 'scanning' } | { state: 'done'; entries: RegistryEntry[] } | { state: 'error'; error: unknown };

/**
 * A guess at the task from the model's id, for snapshots whose model card and
 * config.json do not say (the registry's task is null); the form's task stays editable.
 */
export function guessTask(model: string): string {
  const m = model.toLowerCase();
  if (/mnli|zero-shot|xnli/.test(m)) return 'zero-shot-classification';
  if (/\bner\b|-ner|ner-|token-class|pos-tag/.test(m)) return 'token-classification';
  if (/sst|sentiment|emotion|toxic|classif|intent/.test(m)) return 'text-classification';
  if (/minilm|mpnet|bge|\be5\b|e5-|gte|embed|sentence|simcse|bert/.test(m)) return 'feature-extraction';
  return 'text-generation';
}

const startLink = (e: RegistryEntry) =>
  `/services?${new URLSearchParams({ start: '1', task: e.task ?? guessTask(e.model), profile: e.profile, model: e.model, revision: e.revision }).toString()}`;

/** The Hugging Face snapshots each profile has on disk (GET /models?profile=), re-scanned on demand. */
export function Registry({ can }: { can: (scope: string) => boolean }) {
  const [profiles, setProfiles] = useState<Profile[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [scans, setScans] = useState<Record<string, Scan>>({});

  const scan = (name: string, refresh: boolean) => {
    setScans((s) => ({ ...s, [name]: { state: refresh ? 'scanning' : 'loading' } }));
    const query = `/models?profile=${encodeURIComponent(name)}`;
    api<RegistryEntry[]>(refresh ? `${query}&refresh=true` : query)
      // The database knows nothing before a profile's first scan: scan once by itself.
      .then((entries) => (!refresh && entries.length === 0 ? api<RegistryEntry[]>(`${query}&refresh=true`) : entries))
      .then((entries) => setScans((s) => ({ ...s, [name]: { state: 'done', entries } })),
        (err) => setScans((s) => ({ ...s, [name]: { state: 'error', error: err } })));
  };

  const load = (refresh: boolean) => {
    setError(null);
    api<Profile[]>('/api/profiles').then((list) => {
      setProfiles(list);
      for (const p of list) scan(p.name, refresh);
    }, setError);
  };
  useEffect(() => load(false), []);

  const busy = Object.values(scans).some((s) => s.state !== 'done' && s.state !== 'error');
  return (
    <section aria-labelledby="page-title" class="registry">
      <h1 id="page-title">Registry</h1>
      <div class="toolbar">
        <p class="muted">Models each profile can serve without downloading: Hugging Face snapshots in its cache and home directories, and (on <code>local</code>) the ONNX repository.</p>
        <button type="button" onClick={() => load(true)} disabled={busy}>{busy ? 'Scanning…' : 'Refresh'}</button>
      </div>
      {error !== null && <ErrorAlert error={error} onRetry={() => load(false)} onDismiss={() => setError(null)} />}
      {profiles === null && error === null && <p role="status">Loading…</p>}
      {profiles?.map((p) => {
        const s = scans[p.name];
        return (
          <section key={p.name} class="card" aria-labelledby={`registry-${p.name}`}>
            <h2 id={`registry-${p.name}`}>{p.name} <span class="muted small">({p.type}{p.host ? ` on ${p.host}` : ''})</span></h2>
            <p class="muted small">Scanned: {[p.cache_dir && `cache ${p.cache_dir}`, p.home_dir && `home ${p.home_dir}`].filter(Boolean).join(', ') || 'no directories set'}</p>
            {!s || s.state === 'loading' || s.state === 'scanning' || s.state === 'error' ? (s?.state === 'error' ? <ErrorAlert error={s.error} onRetry={() => scan(p.name, true)} /> : <p role="status">{s?.state === 'scanning' ? `Scanning ${p.name}…` : 'Loading…'}</p>)
                : s.entries.length === 0 ? <p class="empty">No models on {p.name} yet.</p> : (
                  <table>
                    <caption class="visually-hidden">Models on {p.name}</caption>
                    <thead><tr><th scope="col">Model</th><th scope="col">Revision</th><th scope="col">Task</th><th scope="col">Source</th><th scope="col">Size</th><th scope="col">Path</th><th scope="col">Actions</th></tr></thead>
                    <tbody>
                      {s.entries.map((e) => (
                        <tr key={e.path}>
                          <th scope="row">{e.model}</th>
                          <td><code title={e.revision}>{e.source === 'repository' ? `version ${e.revision}` : e.revision.slice(0, 12)}</code></td>
                          <td>{e.task ?? <span class="muted">unknown</span>}</td>
                          <td>{e.source === 'cache' ? 'shared cache' : e.source === 'home' ? 'home' : 'ONNX repository'}</td>
                          <td>{bytes(e.size_bytes)}</td>
                          <td class="wrap"><code>{e.path}</code></td>
                          <td><div class="actions">
                            {e.source === 'repository'
                              ? <Link to="/models">On the Models page</Link>
                              : can('services:write') && <Link class="button" to={startLink(e)}><span aria-hidden="true">▶ </span>Start service<span class="visually-hidden"> with {e.model} on {p.name}</span></Link>}
                          </div></td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
          </section>
        );
      })}
    </section>
  );
}
