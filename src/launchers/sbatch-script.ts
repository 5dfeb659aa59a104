/**
 * Renders the bash batch script a Slurm profile submits for a service:
 * #SBATCH options from the profile, the service's environment exported, then
 * the service's command exec'd (so the job's exit code is the command's).
 */
import type { LaunchSpec } from './launcher.js';
import type { Profile } from '../profiles/profile.js';
import { shellJoin, shellQuote } from './command-runner.js';

export interface SbatchOptions {
  jobName: string;
  partition?: string;
  /** '30' (minutes), '1:00:00', '2-00:00:00', 'UNLIMITED'. */
  timeLimit?: string;
  /** '4G', '512M', '2048'. */
  memory?: string;
  cpus?: number;
  gpus?: number;
  /** Standard output and error of the job. */
  output: string;
  /** Working directory of the job. */
  chdir?: string;
  /**
   * Let Slurm requeue the job (after a node failure, on preemption with
   * PreemptMode=REQUEUE, or `scontrol requeue`) even where the cluster's
   * JobRequeue=0 makes batch jobs non-requeueable by default. A service's job
   * is safe to run again: its next run loads the model and registers anew.
   */
  requeue?: boolean;
}

const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PARTITION = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TIME_LIMIT = /^(?:\d+(?:-\d+)?(?::\d+){0,2}|UNLIMITED|INFINITE)$/i;
const MEMORY = /^\d+[KMGT]?B?$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Paths go into #SBATCH lines unquoted: no whitespace, quotes, '%' (filename patterns) or '#'. */
const SAFE_PATH = /^\/[A-Za-z0-9._/+=@,:-]*$/;

/** Where the batch script and the job's log of a service go. */
export function jobPaths(workDir: string, serviceId: string): { script: string; log: string } {
  assertServiceId(serviceId);
  const dir = workDir.replace(/\/+$/, '') || '/';
  const base = dir === '/' ? `/${serviceId}` : `${dir}/${serviceId}`;
  return { script: `${base}.sbatch`, log: `${base}.log` };
}

export function assertServiceId(serviceId: string): void {
  if (!SERVICE_ID.test(serviceId)) {
    throw new Error(`service id ${JSON.stringify(serviceId)} cannot name a Slurm job file (allowed: letters, digits, '.', '_', '-')`);
  }
}

export function assertWorkDir(workDir: string): void {
  if (!SAFE_PATH.test(workDir)) {
    throw new Error(
      `Slurm work directory ${JSON.stringify(workDir)} must be an absolute path without spaces, quotes, '~', '%' or '#'`,
    );
  }
}

/** 'corral-<name>' with characters Slurm or a shell would trip on replaced by '-'. */
export function jobName(serviceName: string): string {
  const clean = serviceName.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 100);
  return `corral-${clean || 'service'}`;
}

/** The #SBATCH options for a service on a profile. */
export function sbatchOptions(spec: LaunchSpec, profile: Profile, workDir: string): SbatchOptions {
  const { log } = jobPaths(workDir, spec.serviceId);
  return {
    jobName: jobName(spec.serviceName),
    ...(profile.partition !== undefined && profile.partition !== '' ? { partition: profile.partition } : {}),
    ...(profile.timeLimit !== undefined && profile.timeLimit !== '' ? { timeLimit: profile.timeLimit } : {}),
    ...(profile.memory !== undefined && profile.memory !== '' ? { memory: profile.memory } : {}),
    ...(profile.cpus !== undefined ? { cpus: profile.cpus } : {}),
    ...(profile.gpus !== undefined ? { gpus: profile.gpus } : {}),
    output: log,
    chdir: workDir,
    requeue: true,
  };
}

function positiveInt(name: string, value: number, allowZero: boolean): number {
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new Error(`Slurm ${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${value}`);
  }
  return value;
}

/** The #SBATCH lines, validated: a bad value throws instead of reaching sbatch. */
export function sbatchDirectives(options: SbatchOptions): string[] {
  const lines: string[] = [];
  const add = (option: string) => lines.push(`#SBATCH ${option}`);
  add(`--job-name=${options.jobName.replace(/[^A-Za-z0-9._-]/g, '-')}`);
  if (options.partition !== undefined) {
    if (!PARTITION.test(options.partition)) throw new Error(`invalid Slurm partition ${JSON.stringify(options.partition)}`);
    add(`--partition=${options.partition}`);
  }
  if (options.timeLimit !== undefined) {
    if (!TIME_LIMIT.test(options.timeLimit.trim())) {
      throw new Error(`invalid Slurm time limit ${JSON.stringify(options.timeLimit)} (e.g. '30', '1:00:00', '1-00:00:00')`);
    }
    add(`--time=${options.timeLimit.trim()}`);
  }
  add('--nodes=1');
  add('--ntasks=1');
  if (options.cpus !== undefined) add(`--cpus-per-task=${positiveInt('cpus', options.cpus, false)}`);
  if (options.memory !== undefined) {
    if (!MEMORY.test(options.memory.trim())) throw new Error(`invalid Slurm memory ${JSON.stringify(options.memory)} (e.g. '4G')`);
    add(`--mem=${options.memory.trim().replace(/B$/i, '').toUpperCase()}`);
  }
  if (options.gpus !== undefined && positiveInt('gpus', options.gpus, true) > 0) add(`--gres=gpu:${options.gpus}`);
  assertWorkDir(options.output);
  add(`--output=${options.output}`);
  if (options.chdir !== undefined) {
    assertWorkDir(options.chdir);
    add(`--chdir=${options.chdir}`);
  }
  if (options.requeue) add('--requeue');
  return lines;
}

/** The whole batch script for a service. */
export function renderSbatchScript(spec: LaunchSpec, options: SbatchOptions): string {
  if (spec.command.length === 0) throw new Error(`service ${spec.serviceId} has an empty command`);
  const lines = ['#!/bin/bash', ...sbatchDirectives(options)];
  lines.push(`# Corral service ${spec.serviceId}, written by the Slurm launcher.`);
  for (const [name, value] of Object.entries(spec.env)) {
    if (!ENV_NAME.test(name)) throw new Error(`invalid environment variable name ${JSON.stringify(name)}`);
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  lines.push(`exec ${shellJoin(spec.command)}`);
  return `${lines.join('\n')}\n`;
}
