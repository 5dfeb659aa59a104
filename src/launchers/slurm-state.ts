/**
 * Slurm job states (squeue %T, scontrol JobState=, sacct State) mapped to the
 * state the backend reports. Every state Slurm documents (squeue(1), "JOB STATE
 * CODES") is mapped on purpose; test/launchers/slurm-state.test.ts checks each.
 *
 * - SUBMITTED: the job is in the queue waiting to (re)start. That includes a
 *   job Slurm requeued (REQUEUED, REQUEUE_HOLD, REQUEUE_FED, SPECIAL_EXIT):
 *   its host process is gone, so the monitor sends a service that was
 *   STARTING or RUNNING back to SUBMITTED and drops its endpoint; the next run
 *   of the job registers again.
 * - STARTING: the job holds a node. A running job is only STARTING: the
 *   gateway promotes a service to RUNNING when its host process registers, so
 *   the launcher never claims RUNNING on its own. SUSPENDED and STOPPED are
 *   here too: the job keeps its node and its processes (SIGSTOPped), and
 *   resumes in place at the same endpoint, so a RUNNING service stays RUNNING
 *   and the launcher says why it does not answer in the report's reason.
 * - STOPPED, FAILED, TIMEOUT: the job ended and will not run again.
 */
import type { BackendState } from './launcher.js';

export const SLURM_STATES: Readonly<Record<string, BackendState>> = {
  // Waiting for resources, or about to (re)start.
  PENDING: 'SUBMITTED',
  CONFIGURING: 'SUBMITTED', // allocated, nodes booting: the batch script has not started yet
  REQUEUED: 'SUBMITTED', // requeued, going back to PENDING
  REQUEUE_HOLD: 'SUBMITTED', // requeued and held until released
  REQUEUE_FED: 'SUBMITTED', // requeued by the federation
  RESV_DEL_HOLD: 'SUBMITTED', // held: its reservation was deleted
  SPECIAL_EXIT: 'SUBMITTED', // requeued and held in a special state (set by an epilog): runs again when released
  // On a node: running, finishing up, or paused in place.
  RUNNING: 'STARTING',
  COMPLETING: 'STARTING',
  RESIZING: 'STARTING',
  SIGNALING: 'STARTING',
  STAGE_OUT: 'STARTING',
  SUSPENDED: 'STARTING', // paused (scontrol suspend, gang scheduling): keeps its node, resumes in place
  STOPPED: 'STARTING', // Slurm's STOPPED is SIGSTOP: the job holds its nodes but does not run
  // Ended on purpose.
  COMPLETED: 'STOPPED',
  CANCELLED: 'STOPPED',
  REVOKED: 'STOPPED', // federation: a sibling cluster started the job instead
  // Ended badly.
  FAILED: 'FAILED',
  NODE_FAIL: 'FAILED',
  OUT_OF_MEMORY: 'FAILED',
  BOOT_FAIL: 'FAILED',
  DEADLINE: 'FAILED', // ended (or never started) by its --deadline
  PREEMPTED: 'FAILED', // ended by preemption and not requeued (PreemptMode=CANCEL); a requeued one is PENDING
  TIMEOUT: 'TIMEOUT',
};

/** States in which the job holds its node but its processes do not run: the service cannot answer until Slurm resumes it. */
export const PAUSED_SLURM_STATES: ReadonlySet<string> = new Set(['SUSPENDED', 'STOPPED']);

/**
 * Normalizes what Slurm prints: sacct writes 'CANCELLED by 0', squeue's short
 * codes aside, some versions append '+'. Returns the bare upper-case state name.
 */
export function normalizeSlurmState(raw: string): string {
  const word = raw.trim().split(/\s+/)[0] ?? '';
  return word.replace(/\+$/, '').toUpperCase();
}

/** The backend state for a Slurm job state, or undefined when Slurm printed something unknown. */
export function mapSlurmState(raw: string): BackendState | undefined {
  const state = normalizeSlurmState(raw);
  return Object.hasOwn(SLURM_STATES, state) ? SLURM_STATES[state] : undefined;
}

/**
 * Describes a Slurm ExitCode ('<exit>:<signal>', e.g. '1:0', '0:15') in words:
 * 'exit code 1', 'killed by signal 15', or undefined when it says nothing.
 */
export function describeExitCode(exitCode: string | undefined): string | undefined {
  if (exitCode === undefined) return undefined;
  const match = /^(\d+)(?::(\d+))?$/.exec(exitCode.trim());
  if (!match) return undefined;
  const code = Number(match[1]);
  const signal = Number(match[2] ?? '0');
  if (signal > 0 && code === 0) return `killed by signal ${signal} (exit code ${exitCode.trim()})`;
  if (signal > 0) return `exit code ${code}, signal ${signal}`;
  return `exit code ${code}`;
}
