import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * huggingface_hub's cache layout, in one place for the gateway (model
 * resolution, the registry) and the transformers runtime.
 */

/** The cache folder of a repo: <cacheDir>/models--org--name. */
export function hubCacheRepoDir(cacheDir: string, repoId: string): string {
  return join(cacheDir, `models--${repoId.split('/').join('--')}`);
}

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();

/**
 * The snapshot directory of a cache repo folder for `revision`: refs/<revision>
 * names the commit; a commit hash names a snapshot directly; with no revision,
 * refs/main or else the only snapshot.
 */
export function findSnapshot(repoDir: string, revision?: string): string | undefined {
  const snapshots = join(repoDir, 'snapshots');
  if (!isDir(snapshots)) return undefined;
  const ref = join(repoDir, 'refs', revision ?? 'main');
  if (existsSync(ref)) {
    const commit = readFileSync(ref, 'utf8').trim();
    if (isDir(join(snapshots, commit))) return join(snapshots, commit);
  }
  if (revision !== undefined) return isDir(join(snapshots, revision)) ? join(snapshots, revision) : undefined;
  const all = readdirSync(snapshots).filter((name) => isDir(join(snapshots, name)));
  return all.length === 1 ? join(snapshots, all[0]!) : undefined;
}

/** The most recently written snapshot, for a repo folder with several and no refs/main. */
export function newestSnapshot(repoDir: string): string | undefined {
  const snapshots = join(repoDir, 'snapshots');
  if (!isDir(snapshots)) return undefined;
  const all = readdirSync(snapshots).map((name) => join(snapshots, name)).filter(isDir);
  return all.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}
