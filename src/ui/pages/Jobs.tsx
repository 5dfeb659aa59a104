import { useEffect, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { Status } from '../components/Status';
import { time } from '../components/format';
import type { LiveState } from '../live';
import { navigate, type Location } from '../router';
import type { Job, JobState } from '../types';
import { JobDetail } from './JobDetail';
import { JobSubmit } from './JobSubmit';
import './Jobs.css';

const STATES: JobState[] = ['queued', 'active', 'completed', 'failed', 'cancelled'];
const PAGE = 50;

interface Page { key: string; jobs: Job[]; next?: string }

/**
 * /jobs: async jobs this key may see (its own; every job for an admin), newest
 * first, filtered by state and service on the server (GET /api/jobs), then kept
 * live by the event stream; the submit form. /jobs/<id>: one job.
 */
export function Jobs({ live, location }: { live: LiveState; location: Location }) {
  const detail = /^\/jobs\/([^/]+)$/.exec(location.path);
  if (detail) return <JobDetail key={detail[1]} id={decodeURIComponent(detail[1]!)} live={live} />;
  return <JobList live={live} location={location} />;
}

function JobList({ live, location }: { live: LiveState; location: Location }) {
  const state = location.query.get('state') ?? '';
  const service = location.query.get('service') ?? '';
  const key = `${state}|${service}`;
  const [page, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  const query = (cursor?: string) => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (state) q.set('state', state);
    if (service) q.set('service', service);
    if (cursor) q.set('cursor', cursor);
    return `/api/jobs?${q}`;
  };

  useEffect(() => {
    let stopped = false;
    setError(null);
    api<{ jobs: Job[]; next?: string }>(query()).then(
      (r) => { if (!stopped) setPage({ key, jobs: r.jobs, next: r.next }); },
      (err) => { if (!stopped) setError(err); },
    );
    return () => { stopped = true; };
  }, [key, attempt]);

  const more = async () => {
    if (!page?.next) return;
    try {
      const r = await api<{ jobs: Job[]; next?: string }>(query(page.next));
      setPage({ key, jobs: [...page.jobs, ...r.jobs], next: r.next });
    } catch (err) {
      setError(err);
    }
  };

  const setFilter = (name: 'state' | 'service', value: string) => {
    const q = new URLSearchParams(location.query);
    if (value) q.set(name, value);
    else q.delete(name);
    const s = q.toString();
    navigate(s ? `/jobs?${s}` : '/jobs', true);
  };

  // The server's page, with what the live stream says since: changed jobs are
  // updated (or leave the list when they no longer match), new ones join it.
  const matches = (j: Job) => (state === '' || j.state === state) && (service === '' || j.service === service);
  const current = page?.key === key ? page : null;
  const byId = new Map((current?.jobs ?? []).map((j) => [j.id, j]));
  for (const j of live.jobs.values()) {
    if (matches(j)) byId.set(j.id, j);
    else byId.delete(j.id);
  }
  const jobs = [...byId.values()].sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id.localeCompare(a.id));
  const services = [...new Set([...[...live.services.values()].map((s) => s.name), ...jobs.map((j) => j.service), ...(service ? [service] : [])])].sort();
  const filtered = state !== '' || service !== '';

  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Jobs</h1>
      <details class="start job-submit-details">
        <summary>Submit a job</summary>
        <JobSubmit live={live} />
      </details>
      <div class="toolbar" role="group" aria-label="Filter jobs">
        <label for="state-filter">State</label>
        <select id="state-filter" value={state} onChange={(e) => setFilter('state', (e.currentTarget as HTMLSelectElement).value)}>
          <option value="">All</option>
          {STATES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        <label for="service-filter">Service</label>
        <select id="service-filter" value={service} onChange={(e) => setFilter('service', (e.currentTarget as HTMLSelectElement).value)}>
          <option value="">All</option>
          {services.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
        {filtered && <button type="button" class="secondary" onClick={() => navigate('/jobs', true)}>Clear filters</button>}
      </div>
      {error !== null && <ErrorAlert error={error} onRetry={() => setAttempt((n) => n + 1)} />}
      {!current && error === null ? <p role="status">Loading…</p> : jobs.length === 0 ? (
        <p class="empty" role="status">No jobs{state ? ` in state ${state}` : ''}{service ? ` for ${service}` : ''}. Submit one above or with <code>POST /api/jobs</code>.</p>
      ) : (
        <>
          <p class="visually-hidden" role="status">{jobs.length} {jobs.length === 1 ? 'job' : 'jobs'} shown</p>
          <table class="jobs">
            <caption class="visually-hidden">Jobs{filtered ? ` (${[state && `state ${state}`, service && `service ${service}`].filter(Boolean).join(', ')})` : ''}, newest first</caption>
            <thead><tr><th scope="col">Job</th><th scope="col">Service</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Finished</th></tr></thead>
            <tbody>
              {jobs.map((j) => (
                <tr key={j.id} data-job={j.id}>
                  <th scope="row"><Link to={`/jobs/${encodeURIComponent(j.id)}`}><code>{j.id}</code></Link></th>
                  <td>{j.service}</td>
                  <td><Status state={j.state} />{j.error && <p class="reason">{j.error}</p>}</td>
                  <td><progress max={100} value={j.progress} aria-label={`Progress of job ${j.id}`}>{j.progress}%</progress></td>
                  <td>{j.attempts}</td>
                  <td>{time(j.created_at)}</td>
                  <td>{time(j.finished_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {current?.next && <p><button type="button" class="secondary" onClick={() => void more()}>Load older jobs</button></p>}
        </>
      )}
    </section>
  );
}
