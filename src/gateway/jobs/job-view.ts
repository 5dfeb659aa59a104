import type { Principal } from '../../auth/index.js';
import { ownedBy, type JobView } from '../../jobs/index.js';

/** Who owns a job is the gateway's business, not part of the job's JSON. */
export const publicView = ({ owner: _owner, ...job }: JobView) => job;

/** A job in a list or an event: everything but its request and result, which GET /api/jobs/<id> gives. */
export const summaryView = ({ owner: _owner, result: _result, request: _request, ...job }: JobView) => job;

/**
 * Whose jobs a caller sees: its own (and ownerless ones), or every job for an
 * admin. The owner to filter a job list by; undefined = no filter.
 */
export const ownerFilter = (principal: Principal) => (principal.has('admin') ? undefined : principal.id);

/** Does a caller see this job? To anyone else it does not exist. */
export const canSee = (principal: Principal, job: Pick<JobView, 'owner'>) => ownedBy(job, ownerFilter(principal));
