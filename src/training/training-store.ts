import type { Db } from '../store/index.js';
import type { TrainingJobsTable } from '../store/schema.js';
import { ACTIVE_STATES, type TrainingState } from './training-job.js';

export type TrainingJobPatch = Partial<Omit<TrainingJobsTable, 'id' | 'created_at'>>;

/** The training_jobs table: one row per job, its state the source of truth. */
export class TrainingStore {
  constructor(private readonly db: Db) {}

  async insert(row: TrainingJobsTable): Promise<void> {
    await this.db.insertInto('training_jobs').values(row).execute();
  }

  async get(id: string): Promise<TrainingJobsTable | undefined> {
    return this.db.selectFrom('training_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Newest first. */
  async list(limit = 500): Promise<TrainingJobsTable[]> {
    return this.db.selectFrom('training_jobs').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
  }

  async update(id: string, patch: TrainingJobPatch): Promise<void> {
    await this.db.updateTable('training_jobs').set(patch).where('id', '=', id).execute();
  }

  /** Jobs a stopped gateway left unfinished (but those in `except`, re-attached): each becomes failed, naming the state it was in. Returns how many. */
  async failInterrupted(now: string, except: ReadonlySet<string> = new Set()): Promise<number> {
    const rows = (await this.db.selectFrom('training_jobs').select(['id', 'state'])
      .where('state', 'in', [...ACTIVE_STATES] as TrainingState[]).execute()).filter((row) => !except.has(row.id));
    for (const row of rows) {
      await this.update(row.id, { state: 'failed', finished_at: now, error: `the gateway restarted while the job was ${row.state}` });
    }
    return rows.length;
  }
}
