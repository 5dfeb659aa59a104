/**
 * A place services run, as Blackfish's profiles.cfg describes it: one INI
 * section per profile. `local` is this machine, `slurm` a cluster reached
 * through its login node, and `gce`, `ec2` and `command` are boxes: machines
 * that exist already and are only started and stopped (never created), where
 * services run over SSH as on a login node.
 */
export const PROFILE_TYPES = ['local', 'slurm', 'gce', 'ec2', 'command'] as const;
export type ProfileType = (typeof PROFILE_TYPES)[number];
export const BOX_PROFILE_TYPES: ReadonlySet<ProfileType> = new Set(['gce', 'ec2', 'command']);

export interface Profile {
  name: string;
  type: ProfileType;
  /** Login node for slurm profiles; 'localhost' runs the Slurm commands here instead of over SSH. For boxes: the SSH address, when the cloud's is not the one to use. */
  host?: string;
  user?: string;
  /** SSH port of the login node or box (default 22). */
  port?: number;
  /** Private key for SSH (default: ssh's own, e.g. ~/.ssh/id_ed25519). Keys only, never passwords. */
  identityFile?: string;
  /** Per-user directory: models downloaded for this profile go here. */
  homeDir?: string;
  /** Shared, read-only model cache (admins download recommended models here). */
  cacheDir?: string;
  /** Scheduler options for slurm profiles. */
  partition?: string;
  /** Slurm time limit, e.g. '30' (minutes) or '1:00:00'. */
  timeLimit?: string;
  gpus?: number;
  /** Slurm memory request, e.g. '4G'. */
  memory?: string;
  cpus?: number;
  /** gce: the Google Cloud project. */
  project?: string;
  /** gce: the zone of the instances, e.g. us-central1-a. */
  zone?: string;
  /** ec2: the region, e.g. us-east-1. */
  region?: string;
  /** Boxes: the instances (names for gce and command, ids for ec2), comma-separated in profiles.cfg. */
  instances?: string;
  /** gce and ec2: the API's address instead of the cloud's own (a proxy, moto, a stand-in). */
  endpointUrl?: string;
  /** command: shell commands, each given the instance as $1 (and CORRAL_BOX_INSTANCE). */
  startCommand?: string;
  stopCommand?: string;
  /** command: prints the box's state (RUNNING, STOPPED, ...) and optionally its address after it. */
  statusCommand?: string;
  /** Boxes: how often a preempted box's services are restarted before they are FAILED (default 3). */
  maxRestarts?: number;
}

/** The instances a box profile manages, in profile order. */
export function instancesOf(profile: Profile): string[] {
  return (profile.instances ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}
