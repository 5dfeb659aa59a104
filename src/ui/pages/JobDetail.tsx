import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../api';
import { useConfirm } from '../components/Confirm';
import { ErrorAlert } from '../components/ErrorAlert';
import { Link } from '../components/Link';
import { Status } from '../components/Status';
import { time } from '../components/format';
import type { LiveState } from '../live';
import type { Job } from '../types';

const seconds = (from?: string, to?: string) => (from && to ? `${((Date.parse(to) - Date.parse(from)) / 1000).toFixed(3)} s` : '–');
const json = (v: unknown) => JSON.stringify(v, null, 2);

/**
 * One job (GET /api/jobs/<id>, with its result): fetched again whenever the
 * live stream reports a change of it, so state, timings and outcome follow
 * without polling. Cancel (DELETE) asks first and is offered while it may run.
 */
export function JobDetail({ id, live }: { id: string; live: LiveState }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [cancelError, setCancelError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [dialog, confirm] = useConfirm();
  const seen = live.jobs.get(id);
  // The live summary has no result: a change of state or progress means fetching the job again.
  const version = seen ? `${seen.state}:${seen.progress}:${seen.attempts}` : '';

  useEffect(() => {
    let stopped = false;
    api<Job>(`/api/jobs/${encodeURIComponent(id)}`).then((j) => { if (!stopped) { setJob(j); setError(null); } }, (err) => { if (!stopped) setError(err); });
    return () => { stopped = true; };
  }, [id, version, attempt]);

  const cancel = async () => {
    if (!(await confirm({ title: `Cancel job ${id}?`, message: 'It will not run, and its webhook is told it was cancelled.', confirm: 'Cancel job' }))) return;
    setCancelError(null);
    try {
      setJob(await api<Job>(`/api/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' }));
    } catch (err) {
      setCancelError(err);
    }
  };

  // The live copy may be newer than the last fetch (the fetch it triggers is on its way).
  const shown = job && seen && seen.state !== job.state ? { ...job, ...seen } : job;
  // Lists and events leave the request out; the job's own GET has it.
  const request = job?.request;
  const notFound = error instanceof ApiError && error.status === 404;
  return (
    <section aria-labelledby="page-title">
      <p class="crumbs"><Link to="/jobs">Jobs</Link></p>
      <h1 id="page-title">Job <code>{id}</code></h1>
      {dialog}
      {error !== null && (notFound
        ? <div class="alert" role="alert"><div>No job <code>{id}</code> here: finished jobs are kept for a while, then removed, and only their owner (or an admin) sees them.</div></div>
        : <ErrorAlert error={error} onRetry={() => setAttempt((n) => n + 1)} />)}
      {!shown && error === null && <p role="status">Loading…</p>}
      {shown && (
        <>
          <div class="summary" aria-live="polite">
            <span data-testid="job-state"><Status state={shown.state} /></span>
            <progress max={100} value={shown.progress} aria-label="Progress">{shown.progress}%</progress>
            {(shown.state === 'queued' || shown.state === 'active') && <button type="button" class="danger" onClick={() => void cancel()}>Cancel job</button>}
          </div>
          {cancelError !== null && <ErrorAlert error={cancelError} onDismiss={() => setCancelError(null)} />}
          <div class="panel job-panel">
            <h2>Details and timings</h2>
            <dl class="config">
              <div><dt>Service</dt><dd>{shown.service}</dd></div>
              <div><dt>Attempts</dt><dd data-testid="job-attempts">{shown.attempts}</dd></div>
              <div><dt>Created</dt><dd>{time(shown.created_at)}</dd></div>
              <div><dt>Started</dt><dd>{shown.started_at ? time(shown.started_at) : 'not yet'}</dd></div>
              <div><dt>Finished</dt><dd>{shown.finished_at ? time(shown.finished_at) : 'not yet'}</dd></div>
              <div><dt>Waited in queue</dt><dd>{seconds(shown.created_at, shown.started_at)}</dd></div>
              <div><dt>Ran for</dt><dd>{seconds(shown.started_at, shown.finished_at)}</dd></div>
              {shown.status_code !== undefined && <div><dt>HTTP status</dt><dd data-testid="job-status-code">{shown.status_code}</dd></div>}
            </dl>
          </div>
          <div class="panel job-panel">
            <h2>Request</h2>
            {request ? (
              <>
                <dl class="config">
                  <div><dt>Route</dt><dd>{request.route ?? 'the task\'s own'}</dd></div>
                </dl>
                <pre class="log" data-testid="job-request" tabIndex={0} aria-label="Job input">{json(request.input)}</pre>
              </>
            ) : <p class="muted">Not known: the job was submitted before its request was kept.</p>}
          </div>
          {shown.state === 'completed' && (
            <div class="panel job-panel">
              <h2>Result</h2>
              <pre class="log" data-testid="job-result" tabIndex={0} aria-label="Job result">{json(shown.result)}</pre>
            </div>
          )}
          {shown.state === 'failed' && (
            <div class="alert failed" role="alert">
              <div><strong>The job failed{shown.status_code ? ` (HTTP ${shown.status_code})` : ''}:</strong> <span data-testid="job-error">{shown.error}</span></div>
            </div>
          )}
          {shown.state === 'cancelled' && <p class="notice">This job was cancelled before it ran.</p>}
        </>
      )}
    </section>
  );
}
