import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface FoundSnapshot {
  model: string;
  revision: string;
  path: string;
  sizeBytes: number;
}

/** Folders under a cache or home directory where hub snapshots may live. */
export const hubRoots = (dir: string) => [dir, join(dir, 'hub'), join(dir, 'models')];

/** Bytes under a directory, following the snapshot's symlinks into blobs. */
function sizeOf(path: string): number {
  const s = statSync(path, { throwIfNoEntry: false });
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  return readdirSync(path).reduce((n, entry) => n + sizeOf(join(path, entry)), 0);
}

/**
 * Every Hugging Face hub snapshot (`models--org--name/snapshots/<revision>`)
 * in a directory on this machine. Unreadable folders are skipped, not fatal:
 * a shared cache often has entries the user cannot read.
 */
export function scanHubSnapshots(dir: string): FoundSnapshot[] {
  const found: FoundSnapshot[] = [];
  for (const root of hubRoots(dir)) {
    if (!existsSync(root)) continue;
    let entries: string[];
    try { entries = readdirSync(root); } catch { continue; }
    for (const entry of entries.filter((e) => e.startsWith('models--'))) {
      const snapshots = join(root, entry, 'snapshots');
      let revisions: string[];
      try { revisions = readdirSync(snapshots); } catch { continue; }
      const model = entry.slice('models--'.length).replace('--', '/');
      for (const revision of revisions) {
        const path = join(snapshots, revision);
        try {
          found.push({ model, revision, path, sizeBytes: sizeOf(path) });
        } catch { /* unreadable snapshot: skip */ }
      }
    }
  }
  return found;
}

/** The same scan as a shell command, for directories on a remote login node (run over SSH). */
export function remoteScanScript(dirs: string[]): string {
  const roots = dirs.flatMap(hubRoots).map((d) => `'${d.replace(/'/g, `'\\''`)}'`).join(' ');
  return `for r in ${roots}; do for s in "$r"/models--*/snapshots/*; do [ -d "$s" ] && printf '%s\\t%s\\n' "$s" "$(du -sbL "$s" 2>/dev/null | cut -f1)"; done; done; true`;
}

/** Parses remoteScanScript's output ("path<TAB>bytes" lines). */
export function parseRemoteScan(output: string): FoundSnapshot[] {
  return output.split('\n').filter(Boolean).flatMap((line) => {
    const [path, size] = line.split('\t');
    const m = path && /models--([^/]+?)--([^/]+)\/snapshots\/([^/]+)$/.exec(path);
    return m ? [{ model: `${m[1]}/${m[2]}`, revision: m[3]!, path: path!, sizeBytes: Number(size) || 0 }] : [];
  });
}
