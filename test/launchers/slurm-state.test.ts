/**
 * Every Slurm job state (squeue(1), "JOB STATE CODES") against the backend
 * state it maps to, from one table, plus what the launcher adds to a live
 * report (a requeued job's queue reason, a suspended job's note).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BackendState } from '../../src/launchers/launcher.js';
import { PAUSED_SLURM_STATES, SLURM_STATES, mapSlurmState } from '../../src/launchers/slurm-state.js';
import { statusChange } from '../../src/services/service-monitor.js';

/** Slurm state → [backend state, why]. */
const TABLE: Record<string, [BackendState, string]> = {
  PENDING: ['SUBMITTED', 'waiting for resources'],
  CONFIGURING: ['SUBMITTED', 'allocated, nodes booting; the script has not started'],
  REQUEUED: ['SUBMITTED', 'requeued: waits to run again'],
  REQUEUE_HOLD: ['SUBMITTED', 'requeued and held'],
  REQUEUE_FED: ['SUBMITTED', 'requeued by the federation'],
  RESV_DEL_HOLD: ['SUBMITTED', 'held after its reservation was deleted'],
  SPECIAL_EXIT: ['SUBMITTED', 'requeued and held in a special state'],
  RUNNING: ['STARTING', 'runs; RUNNING comes from the host registering'],
  COMPLETING: ['STARTING', 'still on its node'],
  RESIZING: ['STARTING', 'still on its node'],
  SIGNALING: ['STARTING', 'still on its node'],
  STAGE_OUT: ['STARTING', 'still on its node'],
  SUSPENDED: ['STARTING', 'paused in place: keeps node and endpoint'],
  STOPPED: ['STARTING', 'SIGSTOP in place: keeps node and endpoint'],
  COMPLETED: ['STOPPED', 'ended'],
  CANCELLED: ['STOPPED', 'scancel'],
  REVOKED: ['STOPPED', 'federation: a sibling runs it'],
  FAILED: ['FAILED', 'non-zero exit'],
  NODE_FAIL: ['FAILED', 'node failed (not requeued)'],
  OUT_OF_MEMORY: ['FAILED', 'OOM'],
  BOOT_FAIL: ['FAILED', 'node did not boot'],
  DEADLINE: ['FAILED', 'its --deadline passed'],
  PREEMPTED: ['FAILED', 'preempted and not requeued'],
  TIMEOUT: ['TIMEOUT', 'time limit'],
};

/** What a service in each live state does on a report of each backend state (statusChange). */
const NEXT: Record<BackendState, Record<'SUBMITTED' | 'STARTING' | 'RUNNING', string>> = {
  SUBMITTED: { SUBMITTED: 'same', STARTING: 'SUBMITTED, no endpoint', RUNNING: 'SUBMITTED, no endpoint' },
  STARTING: { SUBMITTED: 'STARTING', STARTING: 'same', RUNNING: 'same' },
  RUNNING: { SUBMITTED: 'STARTING', STARTING: 'same', RUNNING: 'same' },
  STOPPED: { SUBMITTED: 'STOPPED, no endpoint', STARTING: 'STOPPED, no endpoint', RUNNING: 'STOPPED, no endpoint' },
  FAILED: { SUBMITTED: 'FAILED, no endpoint', STARTING: 'FAILED, no endpoint', RUNNING: 'FAILED, no endpoint' },
  TIMEOUT: { SUBMITTED: 'TIMEOUT, no endpoint', STARTING: 'TIMEOUT, no endpoint', RUNNING: 'TIMEOUT, no endpoint' },
  // Only boxes report it (a spot box taken back); the BoxRestarter starts the service again.
  PREEMPTED: { SUBMITTED: 'PREEMPTED, no endpoint', STARTING: 'PREEMPTED, no endpoint', RUNNING: 'PREEMPTED, no endpoint' },
};

describe('Slurm job states', () => {
  test('the table covers every state Slurm documents, and the map has no others', () => {
    assert.deepEqual(Object.keys(SLURM_STATES).sort(), Object.keys(TABLE).sort());
  });

  for (const [slurm, [backend, why]] of Object.entries(TABLE)) {
    test(`${slurm} → ${backend} (${why})`, () => {
      assert.equal(mapSlurmState(slurm), backend);
      assert.equal(mapSlurmState(slurm.toLowerCase()), backend, 'case-insensitive');
      assert.equal(mapSlurmState(`${slurm}+`), backend, "sacct's trailing '+'");
      assert.equal(mapSlurmState(`${slurm} by 1000`), backend, "sacct's 'by <uid>'");
      assert.equal(PAUSED_SLURM_STATES.has(slurm), slurm === 'SUSPENDED' || slurm === 'STOPPED');
      // What the monitor does with a service in each live state when its job is in this state.
      for (const current of ['SUBMITTED', 'STARTING', 'RUNNING'] as const) {
        const change = statusChange({ status: current, reason: null }, { state: backend });
        const got = change === undefined ? 'same' : `${change.status}${change.details.endpoint === null ? ', no endpoint' : ''}`;
        assert.equal(got, NEXT[backend][current], `${current} service, job ${slurm}`);
      }
    });
  }

  test('unknown states and names that are not states map to nothing', () => {
    for (const raw of ['SOMETHING_NEW', '', 'CONSTRUCTOR', 'TOSTRING', '__PROTO__', 'HASOWNPROPERTY']) assert.equal(mapSlurmState(raw), undefined, raw);
  });
});

describe('monitor transitions', () => {
  test('a requeued job drops the endpoint and says why', () => {
    assert.deepEqual(statusChange({ status: 'RUNNING', reason: null }, { state: 'SUBMITTED', reason: 'PENDING: BeginTime' }), {
      status: 'SUBMITTED', details: { endpoint: null, reason: 'job requeued by the scheduler (PENDING: BeginTime)' },
    });
  });

  test('a running service never moves back to STARTING; it carries a suspended job\'s note and loses it on resume', () => {
    const note = 'job SUSPENDED by Slurm: it does not answer until Slurm resumes it';
    assert.deepEqual(statusChange({ status: 'RUNNING', reason: null }, { state: 'STARTING', reason: note }), { status: 'RUNNING', details: { reason: note } });
    assert.equal(statusChange({ status: 'RUNNING', reason: note }, { state: 'STARTING', reason: note }), undefined);
    assert.deepEqual(statusChange({ status: 'RUNNING', reason: note }, { state: 'STARTING' }), { status: 'RUNNING', details: { reason: null } });
  });

  test('SUBMITTED moves forward to STARTING, clearing a requeue note', () => {
    assert.deepEqual(statusChange({ status: 'SUBMITTED', reason: 'job requeued by the scheduler (PENDING)' }, { state: 'STARTING' }), { status: 'STARTING', details: { reason: null } });
  });
});
