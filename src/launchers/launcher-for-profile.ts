import { CorralError } from '../errors/index.js';
import type { Profile } from '../profiles/index.js';
import { createCommandRunner } from './command-runner.js';
import type { Launcher } from './launcher.js';
import { SlurmLauncher } from './slurm-launcher.js';

/**
 * The launcher for a profile, made once per profile definition: local commands
 * when the login node is this machine, SSH otherwise.
 */
export function launcherFactory(): (profile: Profile) => Launcher {
  const cache = new Map<string, Launcher>();
  return (profile) => {
    const key = JSON.stringify(profile);
    let launcher = cache.get(key);
    if (launcher) return launcher;
    if (profile.type !== 'slurm') throw new CorralError('BAD_REQUEST', `Profile '${profile.name}' (${profile.type}) runs services in this gateway, not as jobs.`);
    launcher = new SlurmLauncher({ profile, runner: runnerFor(profile) });
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
 * Commands for a profile's login node: here, or over SSH with the profile's
 * user, port and key. CORRAL_SSH_KNOWN_HOSTS points ssh at a known_hosts file
 * of Corral's own instead of the user's.
 */
export function runnerFor(profile: Profile) {
  const knownHosts = process.env.CORRAL_SSH_KNOWN_HOSTS;
  return createCommandRunner({
    host: profile.host, user: profile.user, port: profile.port, identityFile: profile.identityFile,
    sshOptions: knownHosts ? [`UserKnownHostsFile=${knownHosts}`] : [],
  });
}
