import type { BoxController } from '../boxes/box-controller.js';
import { CorralError } from '../errors/index.js';
import { BOX_PROFILE_TYPES, type Profile } from '../profiles/index.js';
import { BoxLauncher } from './box-launcher.js';
import { createCommandRunner } from './command-runner.js';
import type { Launcher } from './launcher.js';
import { SlurmLauncher } from './slurm-launcher.js';

export interface LauncherContext {
  boxes: BoxController;
  /** Whether another active service runs on a box (BoxLauncher.stop leaves the box up then). */
  boxInUse: (profile: string, instance: string, exceptJobId: string) => boolean;
}

/**
 * The launcher for a profile, made once per profile definition: Slurm jobs
 * (commands here when the login node is this machine, SSH otherwise), or boxes
 * started through their provider and reached over SSH.
 */
export function launcherFactory(context?: LauncherContext): (profile: Profile) => Launcher {
  const cache = new Map<string, Launcher>();
  return (profile) => {
    const key = JSON.stringify(profile);
    let launcher = cache.get(key);
    if (launcher) return launcher;
    if (profile.type === 'slurm') {
      launcher = new SlurmLauncher({ profile, runner: runnerFor(profile) });
    } else if (BOX_PROFILE_TYPES.has(profile.type) && context) {
      launcher = new BoxLauncher({ profile, boxes: context.boxes, boxInUse: context.boxInUse, runnerFor: (address) => runnerFor({ ...profile, host: address }) });
    } else {
      throw new CorralError('BAD_REQUEST', `Profile '${profile.name}' (${profile.type}) runs services in this gateway, not as jobs.`);
    }
    cache.set(key, launcher);
    return launcher;
  };
}

/** Runs a shell script on a profile's login node and returns its stdout (for remote model scans). */
export async function runOnProfile(profile: Profile, script: string): Promise<string> {
  const result = await runnerFor(profile).run(['sh', '-c', script], { timeoutMs: 120_000 });
  if (result.code !== 0) throw new CorralError('BAD_REQUEST', `Scanning ${profile.name} failed: ${result.stderr.trim() || `exit ${result.code}`}`);
  return result.stdout;
}

/**
 * Commands for a profile's login node (or a box's address): here, or over SSH
 * with the profile's user, port and key. CORRAL_SSH_KNOWN_HOSTS points ssh at a
 * known_hosts file of Corral's own instead of the user's.
 */
export function runnerFor(profile: Profile) {
  const knownHosts = process.env.CORRAL_SSH_KNOWN_HOSTS;
  return createCommandRunner({
    host: profile.host, user: profile.user, port: profile.port, identityFile: profile.identityFile,
    sshOptions: knownHosts ? [`UserKnownHostsFile=${knownHosts}`] : [],
  });
}
