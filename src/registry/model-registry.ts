import { isLocalHost } from '../launchers/command-runner.js';
import type { ModelRepository } from '../repository/index.js';
import type { Profile } from '../profiles/index.js';
import type { Db } from '../store/index.js';
import type { RegistryModelsTable } from '../store/schema.js';
import { canonicalTask, type Task } from '../services/tasks.js';
import { parseRemoteScan, remoteScanScript, scanHubSnapshots, type FoundSnapshot } from './snapshot-scan.js';

/** Runs a shell script on a profile's login node (over SSH) and returns its stdout. */
export type RemoteShell = (profile: Profile, script: string) => Promise<string>;


export interface RegistryEntry {
  model: string;
  revision: string;
  profile: string;
  path: string;
  sizeBytes: number;
  source: 'cache' | 'home' | 'repository';
  /** The task it serves: from a snapshot's model card or config.json; `tensor` for the ONNX repository; null if unknown. */
  task: Task | null;
}

/**
 * Which models each profile can serve without downloading: Hugging Face
 * snapshots in the profile's shared cache_dir, then its home_dir, and (for the
 * local profile) the ONNX repository. Scans happen on refresh; reads come from
 * the database.
 */
export class ModelRegistry {
  constructor(
    private readonly db: Db,
    private readonly repository: ModelRepository,
    private readonly remoteShell: RemoteShell,
  ) {}

  async list(profile: string): Promise<RegistryEntry[]> {
    const rows = await this.db.selectFrom('registry_models').selectAll().where('profile', '=', profile).execute();
    // Sorted here, not in SQL: PostgreSQL's collation may order case and punctuation unlike SQLite's binary order.
    return rows.map(entryFromRow).sort((a, b) => byCodeUnits(a.model, b.model) || byCodeUnits(a.revision, b.revision));
  }

  /** Re-scans the profile's directories and replaces what the database knows about it. */
  async refresh(profile: Profile): Promise<RegistryEntry[]> {
    const entries: RegistryEntry[] = [];
    const seen = new Set<string>();
    for (const [source, dir] of [['cache', profile.cacheDir], ['home', profile.homeDir]] as const) {
      if (!dir) continue;
      for (const s of await this.scan(profile, dir)) {
        if (seen.has(s.path)) continue;
        seen.add(s.path);
        entries.push({ ...s, profile: profile.name, source });
      }
    }
    if (profile.type === 'local') {
      for (const m of this.repository.list()) {
        entries.push({ model: m.name, revision: String(m.version), profile: profile.name, path: m.path, sizeBytes: m.sizeBytes, source: 'repository', task: 'tensor' });
      }
    }
    const now = new Date().toISOString();
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom('registry_models').where('profile', '=', profile.name).execute();
      for (const e of entries) {
        await tx.insertInto('registry_models').values({
          profile: e.profile, model: e.model, revision: e.revision, path: e.path,
          size_bytes: e.sizeBytes, source: e.source, discovered_at: now, task: e.task,
        }).execute();
      }
    });
    return this.list(profile.name);
  }

  /** The first snapshot of a model on a profile (cache_dir before home_dir), if any. */
  async find(profile: string, model: string, revision?: string): Promise<RegistryEntry | undefined> {
    const matches = (await this.list(profile)).filter((e) => e.model === model && (!revision || e.revision === revision));
    return matches.find((e) => e.source === 'cache') ?? matches[0];
  }

  private async scan(profile: Profile, dir: string): Promise<FoundSnapshot[]> {
    if (profile.type === 'local' || isLocalHost(profile.host)) return scanHubSnapshots(dir.replace(/^~/, process.env.HOME ?? '~'));
    return parseRemoteScan(await this.remoteShell(profile, remoteScanScript([dir])));
  }
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function entryFromRow(row: RegistryModelsTable): RegistryEntry {
  return {
    model: row.model, revision: row.revision, profile: row.profile, path: row.path,
    sizeBytes: Number(row.size_bytes), source: row.source as RegistryEntry['source'],
    // Rows scanned before 0011 have none until the next refresh.
    task: row.task === null ? null : canonicalTask(row.task) ?? null,
  };
}
