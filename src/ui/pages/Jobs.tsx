import { Status } from '../components/Status';
import { time } from '../components/format';
import type { LiveState } from '../live';
import { navigate, type Location } from '../router';
import type { JobState } from '../types';

const STATES: JobState[] = ['queued', 'active', 'completed', 'failed', 'cancelled'];

/** Async jobs this key may see (its own; every job for an admin), live, newest first. */
export function Jobs({ live, location }: { live: LiveState; location: Location }) {
  const state = location.query.get('state') ?? '';
  const jobs = [...live.jobs.values()].filter((j) => state === '' || j.state === state).sort((a, b) => b.created_at.localeCompare(a.created_at));
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Jobs</h1>
      <div class="toolbar">
        <label for="state-filter">State</label>
        <select id="state-filter" value={state} onChange={(e) => {
          const v = (e.currentTarget as HTMLSelectElement).value;
          navigate(v ? `/jobs?state=${v}` : '/jobs', true);
        }}>
          <option value="">All</option>
          {STATES.map((s) => <option value={s}>{s}</option>)}
        </select>
      </div>
      {!live.loaded ? <p role="status">Loading…</p> : jobs.length === 0 ? (
        <p class="empty">No jobs{state ? ` in state ${state}` : ''}. Submit one with <code>POST /api/jobs</code>.</p>
      ) : (
        <table>
          <caption class="visually-hidden">Jobs</caption>
          <thead><tr><th scope="col">Job</th><th scope="col">Service</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Attempts</th><th scope="col">Created</th><th scope="col">Finished</th></tr></thead>
          <tbody>
            {jobs.map((j) => (
              <tr key={j.id}>
                <th scope="row"><code>{j.id}</code></th>
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
      )}
    </section>
  );
}
