/**
 * A place services run, as Blackfish's profiles.cfg describes it: one INI
 * section per profile.
 */
export interface Profile {
  name: string;
  type: 'local' | 'slurm';
  /** Login node for slurm profiles; 'localhost' runs the Slurm commands here instead of over SSH. */
  host?: string;
  user?: string;
  /** SSH port of the login node (default 22). */
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
}
