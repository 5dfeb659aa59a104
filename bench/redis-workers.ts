/**
 * The scale-out half of the queue section: `corral worker` processes spawned
 * exactly as a user starts them, the processes to account CPU to (each worker,
 * its model process, redis-server), Redis counters, and removal of every key
 * under the bench's prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface SpawnedWorker {
  pid: number;
  child: ChildProcess;
  /** The last few KB of its stderr (for failure messages). */
  stderr: () => string;
  exited: Promise<void>;
}

export interface WorkerSpawnOptions {
  redisUrl: string;
  prefix: string;
  /** The gateway's CORRAL_HOME: the workers read the uploaded model files from it. */
  home: string;
  /** onnxruntime threads of the worker's one model process. */
  threads: number;
  /** --concurrency: jobs at once (the bench's default is 1). */
  concurrency: number;
}

/**
 * `node --import tsx src/cli/main.ts worker --redis <url> --concurrency 1` (or o.concurrency). The worker sizes
 * its model process as CORRAL_THREADS_PER_WORKER × CORRAL_WORKERS threads; both are set so it
 * gets `threads`, the same as one in-process worker.
 */
export function spawnCorralWorker(o: WorkerSpawnOptions): SpawnedWorker {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--redis', o.redisUrl, '--concurrency', String(o.concurrency)], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      CORRAL_QUEUE_PREFIX: o.prefix, CORRAL_HOME: o.home, CORRAL_LOG_LEVEL: 'warn', CORRAL_ALLOW_REMOTE_MODELS: '0',
      CORRAL_WORKERS: '1', CORRAL_THREADS_PER_WORKER: String(o.threads),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  if (child.pid === undefined) throw new Error('could not spawn corral worker');
  return { pid: child.pid, child, stderr: () => err, exited };
}

const alive = (w: SpawnedWorker) => w.child.exitCode === null && w.child.signalCode === null;

/** SIGTERM (the worker closes its queues and model process), then SIGKILL after `graceMs`. */
export async function stopWorker(w: SpawnedWorker, graceMs = 10_000): Promise<void> {
  if (!alive(w)) return;
  const children = childPids(w.pid);
  w.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([w.exited, new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
  clearTimeout(timer);
  if (alive(w)) {
    w.child.kill('SIGKILL');
    await w.exited;
  }
  // Its model process exits when its parent's IPC channel closes; make sure of it.
  for (const pid of children) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Direct children of `pid` (from /proc; empty off Linux). */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

function connect(redisUrl: string): Redis {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 5000 });
  redis.on('error', () => undefined);
  return redis;
}

/** Fails fast, with a clear message, when Redis is not there. */
export async function pingRedis(redisUrl: string): Promise<void> {
  const redis = connect(redisUrl);
  try {
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis at ${redisUrl} did not answer PING: ${(err as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

export interface RedisCounters {
  /** redis-server's pid (same machine: loopback), to account its CPU. */
  pid: number | undefined;
  commands: number;
}

export async function redisCounters(redisUrl: string): Promise<RedisCounters> {
  const redis = connect(redisUrl);
  try {
    const info = await redis.info();
    const field = (name: string) => info.match(new RegExp(`^${name}:(\\d+)`, 'm'))?.[1];
    const pid = field('process_id');
    return { pid: pid === undefined ? undefined : Number(pid), commands: Number(field('total_commands_processed') ?? NaN) };
  } finally {
    redis.disconnect();
  }
}

/** Deletes every key under `prefix:` (SCAN, not KEYS); returns how many. */
export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<number> {
  const redis = connect(redisUrl);
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    redis.disconnect();
  }
}
