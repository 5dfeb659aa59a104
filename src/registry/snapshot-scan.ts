import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Task } from '../services/tasks.js';
import { readTaskHints, taskOf } from './model-task.js';

export interface FoundSnapshot {
  model: string;
  revision: string;
  path: string;
  sizeBytes: number;
  /** The task it serves, from its model card or config.json (model-task.ts). */
  task: Task | null;
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
          found.push({ model, revision, path, sizeBytes: sizeOf(path), task: taskOf(readTaskHints(path)) });
        } catch { /* unreadable snapshot: skip */ }
      }
    }
  }
  return found;
}

/**
 * The same scan as a shell command, for directories on a remote login node (run
 * over SSH). Each snapshot is one line: path, bytes, config.json's first
 * architecture, the model card's pipeline_tag, and 1 when a label is NLI's.
 */
export function remoteScanScript(dirs: string[]): string {
  const roots = dirs.flatMap(hubRoots).map((d) => `'${d.replace(/'/g, `'\\''`)}'`).join(' ');
  const arch = `a=$(tr -d ' \\t\\r\\n' 2>/dev/null < "$s/config.json" | grep -o '"architectures":\\["[A-Za-z0-9_]*"' | head -n 1 | sed 's/.*\\["//; s/"$//')`;
  const tag = `t=$(head -c 8192 "$s/README.md" 2>/dev/null | grep -m 1 '^pipeline_tag:' | sed 's/^pipeline_tag:[^a-z0-9]*\\([a-z0-9-]*\\).*/\\1/')`;
  const nli = `n=$(grep -qi '"entailment"' "$s/config.json" 2>/dev/null && echo 1)`;
  return `for r in ${roots}; do for s in "$r"/models--*/snapshots/*; do [ -d "$s" ] || continue; ${arch}; ${tag}; ${nli}; `
    + `printf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$s" "$(du -sbL "$s" 2>/dev/null | cut -f1)" "$a" "$t" "$n"; done; done; true`;
}

/** Parses remoteScanScript's output ("path<TAB>bytes<TAB>architecture<TAB>pipeline tag<TAB>nli" lines). */
export function parseRemoteScan(output: string): FoundSnapshot[] {
  return output.split('\n').filter(Boolean).flatMap((line) => {
    const [path, size, architecture, pipelineTag, nli] = line.split('\t');
    const m = path && /models--([^/]+?)--([^/]+)\/snapshots\/([^/]+)$/.exec(path);
    if (!m) return [];
    const task = taskOf({ architecture: architecture || undefined, pipelineTag: pipelineTag || undefined, nliLabels: nli === '1' });
    return [{ model: `${m[1]}/${m[2]}`, revision: m[3]!, path: path!, sizeBytes: Number(size) || 0, task }];
  });
}
