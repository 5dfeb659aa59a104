import { Status } from '../components/Status';
import { bytes, time } from '../components/format';
import type { LiveState } from '../live';

/** Worker processes (local and remote), live: readiness, load, memory, models, restarts, heartbeats. */
export function Workers({ live }: { live: LiveState }) {
  const workers = [...live.workers.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">Workers</h1>
      {!live.loaded ? <p role="status">Loading…</p> : workers.length === 0 ? <p class="empty">No workers.</p> : (
        <table>
          <caption class="visually-hidden">Workers</caption>
          <thead><tr><th scope="col">Worker</th><th scope="col">State</th><th scope="col">PID</th><th scope="col">Host</th><th scope="col">In flight</th><th scope="col">Memory</th><th scope="col">Loaded models</th><th scope="col">Restarts</th><th scope="col">Last heartbeat</th></tr></thead>
          <tbody>
            {workers.map((w) => (
              <tr key={w.id}>
                <th scope="row">{w.id}</th>
                <td><Status state={w.state} /></td>
                <td>{w.pid ?? '–'}</td>
                <td>{w.host ?? 'this gateway'}</td>
                <td>{w.outstanding}</td>
                <td>{w.rssBytes ? bytes(w.rssBytes) : '–'}</td>
                <td class="wrap">{w.loadedModels.length ? w.loadedModels.join(', ') : <span class="muted">none</span>}</td>
                <td>{w.restarts}</td>
                <td>{w.lastSeen ? time(w.lastSeen) : <span class="muted">local</span>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
