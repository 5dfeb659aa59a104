/**
 * Slurm job states (squeue %T, scontrol JobState=, sacct State) mapped to the
 * state the backend reports. A running job is only STARTING: the gateway
 * promotes a service to RUNNING when its host process registers, so the
 * launcher never claims RUNNING on its own.
 */
import type { BackendState } from './launcher.js';

const STATE_MAP: Readonly<Record<string, BackendState>> = {
  // Waiting for resources, or about to (re)start.
  PENDING: 'SUBMITTED',
  CONFIGURING: 'SUBMITTED',
  REQUEUED: 'SUBMITTED',
  REQUEUE_HOLD: 'SUBMITTED',
  REQUEUE_FED: 'SUBMITTED',
  RESV_DEL_HOLD: 'SUBMITTED',
  SUSPENDED: 'SUBMITTED',
  STOPPED: 'SUBMITTED', // Slurm's STOPPED is SIGSTOP: the job holds its nodes but does not run.
  // Running (or finishing up) on a node.
  RUNNING: 'STARTING',
  COMPLETING: 'STARTING',
  RESIZING: 'STARTING',
  SIGNALING: 'STARTING',
  STAGE_OUT: 'STARTING',
  // Ended on purpose.
  COMPLETED: 'STOPPED',
  CANCELLED: 'STOPPED',
  REVOKED: 'STOPPED',
  // Ended badly.
  FAILED: 'FAILED',
  NODE_FAIL: 'FAILED',
  OUT_OF_MEMORY: 'FAILED',
  BOOT_FAIL: 'FAILED',
  DEADLINE: 'FAILED',
  PREEMPTED: 'FAILED',
  SPECIAL_EXIT: 'FAILED',
  TIMEOUT: 'TIMEOUT',
};

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
  return STATE_MAP[normalizeSlurmState(raw)];
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
