import { CorralError } from '../errors/index.js';

/** An async job, as GET /api/jobs/<id> shows it. */
export type JobState = 'queued' | 'active' | 'completed' | 'failed' | 'cancelled';

export interface JobSpec {
  /** Service (or raw ONNX model) name or id. */
  service: string;
  /** The body its task route takes, e.g. {"sentences": [...]} for an embedding service. */
  input: unknown;
  /** Route under /services/<service>/ to send it to; by default the task's own route. */
  route?: string;
  /** Jobs without a priority run first, then priority 1, 2, ... (BullMQ's meaning). */
  priority?: number;
  /** POSTed the finished job, with retries. */
  webhook?: string;
  /** The principal (API key id, 'admin-token' or 'anonymous') that submitted it; the job runs as it. */
  owner?: string;
}

/** The request part of a job's view, from its spec. */
export const requestOf = (spec: Pick<JobSpec, 'input' | 'route'>): NonNullable<JobView['request']> => ({ input: spec.input, ...(spec.route ? { route: spec.route } : {}) });

export interface JobView {
  id: string;
  service: string;
  /** Who submitted it (internal: routes show a job to its owner and admins, and leave this out). */
  owner?: string;
  state: JobState;
  /** 0 queued, 50 running, 100 finished. */
  progress: number;
  result?: unknown;
  error?: string;
  /** HTTP status the task route answered with. */
  status_code?: number;
  attempts: number;
  /** What was submitted: GET /api/jobs/<id> and webhooks show it; lists and events leave it out. */
  request?: { input: unknown; route?: string };
  created_at: string;
  started_at?: string;
  finished_at?: string;
}

/** Which jobs GET /api/jobs lists; every field narrows the list. */
export interface JobFilter {
  state?: JobState;
  /** The service as the job was submitted (name or id). */
  service?: string;
  /** Only the jobs this principal submitted (and any without an owner); unset = every job (admins). */
  owner?: string;
  /** Most jobs on one page. */
  limit: number;
  /** `next` of the previous page: the jobs older than its last one. */
  cursor?: string;
}

/** One page of jobs, newest first; `next` is set when older jobs match too. */
export interface JobPage {
  jobs: JobView[];
  next?: string;
}

/** The one visibility rule: a job is its owner's (ownerless jobs are everyone's); admins see every job. */
export const ownedBy = (job: Pick<JobView, 'owner'>, owner: string | undefined) =>
  owner === undefined || job.owner === undefined || job.owner === owner;

/** Does a job pass a filter's state, service and owner? */
export const matches = (job: JobView, filter: Omit<JobFilter, 'limit' | 'cursor'>) =>
  (filter.state === undefined || job.state === filter.state) && (filter.service === undefined || job.service === filter.service) && ownedBy(job, filter.owner);

/** A `cursor` that no page handed out. */
export const badCursor = (cursor: string) =>
  new CorralError('BAD_REQUEST', `cursor '${cursor}' is not one this gateway handed out; pass the 'next' of the previous page.`);

export interface JobQueue {
  /** Accepts a job or throws QUEUE_FULL (429). */
  add(spec: JobSpec): Promise<JobView>;
  get(id: string): Promise<JobView | undefined>;
  /** Cancels a queued job; an active or finished one cannot be (409). */
  cancel(id: string): Promise<JobView>;
  /** Jobs newest first, filtered; a `cursor` this queue did not hand out is BAD_REQUEST (400). */
  list(filter: JobFilter): Promise<JobPage>;
  /** Calls back on every state change of one job until unsubscribed. */
  subscribe(id: string, listener: (job: JobView) => void): () => void;
  close(): Promise<void>;
}

export const isFinished = (state: JobState) => state === 'completed' || state === 'failed' || state === 'cancelled';
