import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { useConfirm } from '../components/Confirm';
import { ErrorAlert } from '../components/ErrorAlert';
import { time } from '../components/format';
import type { ApiKeyView, ServerScope } from '../types';
import './admin.css';

/** Every scope the server knows (a Record over its type, so a new scope fails the build until it is described here). */
const SCOPES: Record<ServerScope, string> = {
  read: 'list and describe models, services, profiles, workers; logs; live updates',
  infer: 'predictions, embeddings, generation, OCR, async jobs',
  'models:write': 'upload, describe, configure and delete models',
  'services:operate': 'start and stop existing services',
  'services:write': 'create and delete services',
  metrics: '/metrics and the Metrics page',
  admin: 'keys, profiles, audit; implies every other scope',
};

/** A key's state as an icon and its word, never by colour alone. */
const STATE = { active: { icon: '●', tone: 'ok' }, revoked: { icon: '■', tone: 'idle' }, expired: { icon: '⏱', tone: 'bad' } } as const;
const stateOf = (k: ApiKeyView): keyof typeof STATE => (k.revoked_at ? 'revoked' : k.expires_at && Date.parse(k.expires_at) <= Date.now() ? 'expired' : 'active');

/** API keys (admin): list, create (the secret is shown once), revoke. */
export function ApiKeys() {
  const [dialog, confirm] = useConfirm();
  const [keys, setKeys] = useState<ApiKeyView[] | null>(null);
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [created, setCreated] = useState<{ name: string; secret: string } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = () => {
    api<ApiKeyView[]>('/api/keys').then(setKeys, (err) => setError({ err, retry: load }));
  };
  useEffect(load, []);

  const revoke = async (k: ApiKeyView) => {
    if (!(await confirm({ title: `Revoke ${k.name}?`, message: 'Requests with this key get 401 from now on, and its web sessions end. A revoked key cannot be restored.', confirm: 'Revoke' }))) return;
    const run = async () => {
      setError(null);
      try {
        await api(`/api/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
        setNotice(`Key ${k.name} revoked.`);
        load();
      } catch (err) {
        setError({ err, retry: () => void run() });
      }
    };
    await run();
  };

  const sorted = keys && [...keys].sort((a, b) => Number(!!a.revoked_at) - Number(!!b.revoked_at) || a.name.localeCompare(b.name));
  return (
    <section aria-labelledby="page-title" class="keys">
      <h1 id="page-title">API keys</h1>
      {created
        ? <NewSecret {...created} onDone={() => { setCreated(null); setNotice(`Key ${created.name} is ready; its secret is no longer shown.`); }} />
        : <CreateKey onCreated={(name, secret) => { setNotice(null); setCreated({ name, secret }); load(); }} />}
      {notice && <p class="notice" role="status">{notice}</p>}
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      <h2>Keys</h2>
      {sorted === null ? (error ? null : <p role="status">Loading…</p>) : sorted.length === 0 ? <p class="empty">No keys.</p> : (
        <table>
          <caption class="visually-hidden">API keys</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">State</th><th scope="col">Scopes</th><th scope="col">Models</th><th scope="col">Limits</th><th scope="col">Expires</th><th scope="col">Created</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {sorted.map((k) => {
              const state = stateOf(k);
              return (
                <tr key={k.id} data-state={state}>
                  <th scope="row">{k.name}<div class="muted small"><code>{k.id}</code>{k.imported ? ' · imported' : ''}</div></th>
                  <td><span class={`status status-${STATE[state].tone}`}><span aria-hidden="true">{STATE[state].icon}</span> {state}</span>
                    {k.revoked_at && <div class="muted small">revoked {time(k.revoked_at)}</div>}</td>
                  <td class="wrap">{k.scopes.join(', ')}</td>
                  <td class="wrap">{k.models ? k.models.join(', ') : <span class="muted">all</span>}</td>
                  <td class="wrap">{k.rate_limit ? `${k.rate_limit.requests_per_minute}/min, burst ${k.rate_limit.burst}${k.rate_limit.concurrency !== undefined ? `, ${k.rate_limit.concurrency} at once` : ''}` : <span class="muted">none</span>}</td>
                  <td>{k.expires_at ? time(k.expires_at) : <span class="muted">never</span>}</td>
                  <td>{time(k.created_at)}</td>
                  <td>{!k.revoked_at && <button type="button" class="danger" aria-label={`Revoke ${k.name}`} onClick={() => void revoke(k)}>Revoke</button>}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {dialog}
    </section>
  );
}

/** The secret, once: Corral keeps only its hash. Done forgets it. */
function NewSecret({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('Copied to the clipboard.');
    } catch {
      // No clipboard access (an insecure origin, a refused permission): select it for Ctrl+C.
      field.current?.select();
      setCopied('The browser did not allow copying: the key is selected, press Ctrl+C (⌘C).');
    }
  };
  return (
    <section class="card secret" aria-labelledby="secret-title">
      <h2 id="secret-title" ref={heading} tabIndex={-1}>Key {name} created</h2>
      <p class="warning" id="secret-warning"><strong><span aria-hidden="true">⚠ </span>Copy this key now: it is shown only this once.</strong> Corral stores only its hash and cannot show it again; if it is lost, revoke it and create another.</p>
      <div class="row">
        <div class="field">
          <label for="new-secret">New API key</label>
          <input id="new-secret" ref={field} class="secret-value" readOnly value={secret} aria-describedby="secret-warning" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
        </div>
      </div>
      <div class="row">
        <button type="button" onClick={() => void copy()}>Copy key</button>
        <button type="button" class="secondary" onClick={onDone}>I have saved it</button>
        {copied && <span role="status">{copied}</span>}
      </div>
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (name: string, secret: string) => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<ServerScope[]>(['read', 'infer']);
  const [models, setModels] = useState('');
  const [limits, setLimits] = useState({ requests_per_minute: '', burst: '', concurrency: '' });
  const [expires, setExpires] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const submit = async (e?: Event) => {
    e?.preventDefault();
    const json: Record<string, unknown> = { name: name.trim(), scopes };
    const globs = models.split(',').map((m) => m.trim()).filter(Boolean);
    if (globs.length) json.models = globs;
    // Sent as typed, so the server's validation names what is wrong (a burst without requests per minute, say).
    const rate = Object.fromEntries(Object.entries(limits).filter(([, v]) => v.trim() !== '').map(([k, v]) => [k, Number.isNaN(Number(v)) ? v : Number(v)]));
    if (Object.keys(rate).length) json.rate_limit = rate;
    if (expires) json.expires_at = new Date(expires).toISOString();
    setBusy(true);
    setError(null);
    try {
      const created = await api<ApiKeyView & { key: string }>('/api/keys', { method: 'POST', json });
      setName('');
      setModels('');
      setLimits({ requests_per_minute: '', burst: '', concurrency: '' });
      setExpires('');
      onCreated(created.name, created.key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const limit = (key: keyof typeof limits, label: string, hint: string) => (
    <div class="field">
      <label for={`key-${key}`}>{label}</label>
      <input id={`key-${key}`} type="number" step={1} inputMode="numeric" value={limits[key]} aria-describedby={`key-${key}-hint`}
        onInput={(e) => setLimits({ ...limits, [key]: (e.currentTarget as HTMLInputElement).value })} />
      <small id={`key-${key}-hint`} class="muted">{hint}</small>
    </div>
  );

  return (
    <form class="card" onSubmit={(e) => void submit(e)} aria-labelledby="create-key-title" noValidate>
      <h2 id="create-key-title">Create a key</h2>
      <div class="row">
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" value={name} required maxLength={128} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="key-models">Models</label>
          <input id="key-models" value={models} placeholder="iris*, embed" aria-describedby="key-models-hint" onInput={(e) => setModels((e.currentTarget as HTMLInputElement).value)} />
          <small id="key-models-hint" class="muted">Comma-separated name globs (* and ?); empty for all models.</small>
        </div>
        <div class="field">
          <label for="key-expires">Expires at</label>
          <input id="key-expires" type="datetime-local" value={expires} aria-describedby="key-expires-hint" onInput={(e) => setExpires((e.currentTarget as HTMLInputElement).value)} />
          <small id="key-expires-hint" class="muted">Your local time; empty for never.</small>
        </div>
      </div>
      <fieldset>
        <legend>Scopes</legend>
        <ul class="scopes">
          {(Object.keys(SCOPES) as ServerScope[]).map((s) => (
            <li key={s}>
              <label class="check">
                <input type="checkbox" checked={scopes.includes(s)} aria-describedby={`scope-${s.replace(':', '-')}`}
                  onChange={(e) => setScopes((e.currentTarget as HTMLInputElement).checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
                <code>{s}</code>
              </label>
              <span id={`scope-${s.replace(':', '-')}`} class="muted small"> {SCOPES[s]}</span>
            </li>
          ))}
        </ul>
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        <div class="row">
          {limit('requests_per_minute', 'Requests per minute', 'Empty: no rate limit.')}
          {limit('burst', 'Burst', 'Requests at once above the rate (default: the rate).')}
          {limit('concurrency', 'Concurrent requests', 'In flight at one time.')}
        </div>
      </fieldset>
      {error !== null && <ErrorAlert error={error} onRetry={() => void submit()} onDismiss={() => setError(null)} />}
      <button type="submit" disabled={busy}>{busy ? 'Creating…' : 'Create key'}</button>
    </form>
  );
}
