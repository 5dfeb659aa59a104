import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A cgroup made for one job, limiting its memory; processes join it through its procs file. */
export interface MemoryCgroup {
  dir: string;
  version: 1 | 2;
  /** Writing a pid here moves that process (and what it starts later) into the cgroup. */
  procsFile: string;
  /** How many processes the kernel killed in it for want of memory. */
  oomKills(): number;
  /** Removes the cgroup once its processes are gone (retrying a little while they exit). */
  remove(): Promise<void>;
}

interface Mount { point: string; fstype: string; superOptions: string[] }

function mounts(): Mount[] {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' - ')).map((line) => {
      const [before, after] = line.split(' - ') as [string, string];
      const [fstype = '', , options = ''] = after.split(' ');
      return { point: before.split(' ')[4] ?? '', fstype, superOptions: options.split(',') };
    });
  } catch {
    return [];
  }
}

/** This process's cgroup path per hierarchy: '' for v2 ("0::/path"), else the controller list. */
function ownCgroups(): Map<string, string> {
  const own = new Map<string, string>();
  try {
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
      const match = /^\d+:([^:]*):(.*)$/.exec(line);
      if (match) for (const controller of match[1]!.split(',')) own.set(controller, match[2]!);
    }
  } catch {
    // Not Linux: no cgroups.
  }
  return own;
}

const tryWrite = (path: string, value: string) => {
  try {
    writeFileSync(path, value);
    return true;
  } catch {
    return false;
  }
};

const counter = (path: string, key: string) => {
  try {
    const match = new RegExp(`^${key} (\\d+)$`, 'm').exec(readFileSync(path, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
};

function made(dir: string, version: 1 | 2, eventsFile: string): MemoryCgroup {
  return {
    dir, version, procsFile: join(dir, 'cgroup.procs'),
    oomKills: () => counter(eventsFile, 'oom_kill'),
    async remove() {
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          rmdirSync(dir);
          return;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
  };
}

function makeDir(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * A child cgroup of this process's own with a memory limit: cgroup v2
 * (memory.max) where its memory controller can be enabled, else v1's memory
 * hierarchy (memory.limit_in_bytes, and memsw so swap does not dodge it).
 * Undefined where neither is writable (not root, no cgroup mounted, a
 * container without cgroup access): the caller warns and runs without a limit.
 */
export function createMemoryCgroup(name: string, bytes: number): MemoryCgroup | undefined {
  const own = ownCgroups();
  const all = mounts();
  const v2 = all.find((m) => m.fstype === 'cgroup2');
  if (v2 && own.has('')) {
    const parent = join(v2.point, own.get('')!);
    const dir = join(parent, name);
    if (makeDir(dir)) {
      if (!existsSync(join(dir, 'memory.max'))) tryWrite(join(parent, 'cgroup.subtree_control'), '+memory');
      if (existsSync(join(dir, 'memory.max')) && tryWrite(join(dir, 'memory.max'), String(bytes))) {
        tryWrite(join(dir, 'memory.swap.max'), '0');
        return made(dir, 2, join(dir, 'memory.events'));
      }
      try { rmdirSync(dir); } catch { /* left as it was */ }
    }
  }
  const v1 = all.find((m) => m.fstype === 'cgroup' && m.superOptions.includes('memory'));
  if (v1 && own.has('memory')) {
    const dir = join(v1.point, own.get('memory')!, name);
    if (makeDir(dir)) {
      if (tryWrite(join(dir, 'memory.limit_in_bytes'), String(bytes))) {
        tryWrite(join(dir, 'memory.memsw.limit_in_bytes'), String(bytes));
        return made(dir, 1, join(dir, 'memory.oom_control'));
      }
      try { rmdirSync(dir); } catch { /* left as it was */ }
    }
  }
  return undefined;
}
