import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import { useConfirm } from '../components/Confirm';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { Status } from '../components/Status';
import { StartService, type StartPrefill } from './StartService';
import { time } from '../components/format';
import type { LiveState } from '../live';
import { navigate, type Location } from '../router';
import type { Service, ServiceStatus } from '../types';

const STATUSES: ServiceStatus[] = ['SUBMITTED', 'STARTING', 'RUNNING', 'SLEEPING', 'PREEMPTED', 'STOPPED', 'FAILED', 'TIMEOUT'];

/** The filters, kept in the URL (?status=RUNNING&task=ocr&profile=hpc) so a filtered view can be linked and reloaded. */
const FILTERS = [
  // Named apart from the start form's Task and Profile fields on the same page.
  { key: 'status', label: 'Filter by status' },
  { key: 'task', label: 'Filter by task' },
  { key: 'profile', label: 'Filter by profile' },
] as const;
type FilterKey = (typeof FILTERS)[number]['key'];

/** Every service, live from /api/events, filtered by status, task and profile. */
export function Services({ live, location, can }: { live: LiveState; location: Location; can: (scope: string) => boolean }) {
  const [dialog, confirm] = useConfirm();
  const [error, setError] = useState<{ err: unknown; retry: () => void } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const chosen = (key: FilterKey) => location.query.get(key) ?? '';
  const [showStart, setShowStart] = useState(location.query.get('start') === '1');
  const all = [...live.services.values()];
  const services = all
    .filter((s) => FILTERS.every(({ key }) => chosen(key) === '' || s[key] === chosen(key)))
    .sort((a, b) => a.name.localeCompare(b.name));
  // Task and profile offer the values the services have (and a chosen one, even if none has it now).
  const optionsFor = (key: FilterKey) => key === 'status' ? STATUSES
    : [...new Set([...all.map((s) => s[key]), chosen(key)].filter(Boolean))].sort();
  const setFilter = (key: FilterKey, value: string) => {
    const query = new URLSearchParams();
    for (const f of FILTERS) {
      const v = f.key === key ? value : chosen(f.key);
      if (v) query.set(f.key, v);
    }
    navigate(query.size ? `/services?${query}` : '/services', true);
  };
  const filtered = FILTERS.filter(({ key }) => chosen(key) !== '').map(({ key }) => `${key} ${chosen(key)}`).join(', ');

  const act = async (s: Service, what: 'stop' | 'delete') => {
    const ok = await confirm(what === 'stop'
      ? { title: `Stop ${s.name}?`, message: 'Its worker (or cluster job) ends; requests to it fail until it is started again.', confirm: 'Stop' }
      : { title: `Delete ${s.name}?`, message: 'The service is removed for good; its model files stay.', confirm: 'Delete' });
    if (!ok) return;
    const run = async () => {
      setBusy(s.id);
      setError(null);
      try {
        await api(`/api/services/${encodeURIComponent(s.id)}${what === 'stop' ? '/stop' : ''}`, { method: what === 'stop' ? 'POST' : 'DELETE' });
      } catch (err) {
        setError({ err, retry: () => void run() });
      } finally {
        setBusy(null);
      }
    };
    await run();
  };

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Services</h1>
      <div class="toolbar">
        {FILTERS.map(({ key, label }) => (
          <Fragment key={key}>
            <label for={`${key}-filter`}>{label}</label>
            <select id={`${key}-filter`} value={chosen(key)} onChange={(e) => setFilter(key, (e.currentTarget as HTMLSelectElement).value)}>
              <option value="">All</option>
              {optionsFor(key).map((v) => <option value={v}>{v}</option>)}
            </select>
          </Fragment>
        ))}
      </div>
      {can('services:write') && (
        <details class="start" open={showStart} onToggle={(e) => setShowStart((e.currentTarget as HTMLDetailsElement).open)}>
          <summary>Start a new service</summary>
          {showStart && <StartService onStarted={() => undefined} initial={prefill(location)} />}
        </details>
      )}
      {error && <ErrorAlert error={error.err} onRetry={error.retry} onDismiss={() => setError(null)} />}
      {!live.loaded ? <p role="status">Loading…</p> : services.length === 0 ? (
        <p class="empty">No services{filtered ? ` with ${filtered}` : ''}. Upload an ONNX model on the <Link to="/models">Models</Link> page, or start one with <code>corral run</code>.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Services</caption>
          <thead><tr><th scope="col">Name</th><th scope="col">Task</th><th scope="col">Model</th><th scope="col">Profile</th><th scope="col">Status</th><th scope="col">Updated</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {services.map((s) => {
              const fromRepository = s.id.startsWith('onnx:');
              return (
                <tr key={s.id}>
                  <th scope="row">{fromRepository ? s.name : <Link to={`/services/${encodeURIComponent(s.id)}`}>{s.name}</Link>}</th>
                  <td>{s.task}</td>
                  <td class="wrap">{s.model}</td>
                  <td>{s.profile}</td>
                  <td>
                    <Status state={s.status} />
                    {s.reason && (s.status === 'FAILED' || s.status === 'TIMEOUT' || s.status === 'PREEMPTED') && <p class="reason">{s.reason}</p>}
                  </td>
                  <td>{time(s.updated_at)}</td>
                  <td><div class="actions">
                    {fromRepository && s.status === 'RUNNING' && can('infer') && <Link to={`/models/${encodeURIComponent(s.name)}/playground`}>Playground</Link>}
                    {!fromRepository && can('services:operate') && (s.status === 'RUNNING' || s.status === 'STARTING' || s.status === 'SUBMITTED' || s.status === 'SLEEPING') && (
                      <button type="button" class="secondary" disabled={busy === s.id} onClick={() => void act(s, 'stop')} aria-label={`Stop ${s.name}`}>Stop</button>
                    )}
                    {!fromRepository && can('services:write') && (
                      <button type="button" class="danger" disabled={busy === s.id} onClick={() => void act(s, 'delete')} aria-label={`Delete ${s.name}`}>Delete</button>
                    )}
                  </div></td>
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

/** The Registry page opens the form with its model: /services?start=1&task=…&profile=…&model=…&revision=…. */
function prefill(location: Location): StartPrefill | undefined {
  const q = location.query;
  if (!q.get('model')) return undefined;
  return { task: q.get('task') ?? undefined, profile: q.get('profile') ?? undefined, model: q.get('model') ?? undefined, revision: q.get('revision') ?? undefined };
}
