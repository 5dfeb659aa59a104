import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Db } from '../store/index.js';
import type { AuditLogTable } from '../store/schema.js';
import type { Principal } from './principal.js';

/** One entry as GET /api/audit shows it: the row, with its detail parsed. Actions: key.create, key.revoke, auth.failure, model.upload, service.stop, profile.update, ... */
export type AuditEntry = Omit<AuditLogTable, 'detail_json'> & { detail: Record<string, unknown> | null };

export interface AuditQuery {
  limit?: number;
  action?: string;
  keyId?: string;
}

/**
 * Who changed what, and who failed to get in. Writes never hold up the
 * request that caused them; failed authentications are written at most once a
 * minute per address, with the count of those folded in.
 */
export class AuditLog {
  private readonly failures = new Map<string, { since: number; count: number }>();
  /** Writes under way; list() waits for them so a reader sees what happened before it asked. */
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly db: Db, private readonly logger: Logger) {}

  /** `who` is the request that did it (its principal and client address), or just an address. */
  record(action: string, who: { principal?: Principal; ip?: string }, target?: string, detail?: Record<string, unknown>): void {
    const principal = who.principal;
    const row = {
      id: randomUUID(),
      at: new Date().toISOString(),
      action,
      key_id: principal && !principal.isAnonymous ? principal.id : null,
      key_name: principal && !principal.isAnonymous ? principal.name : null,
      ip: who.ip ?? null,
      target: target ?? null,
      detail_json: detail ? JSON.stringify(detail) : null,
    };
    const write = this.db.insertInto('audit_log').values(row).execute()
      .catch((err: Error) => this.logger.warn({ err: err.message, action }, 'audit log write failed'))
      .finally(() => this.pending.delete(write));
    this.pending.add(write);
  }

  /** A failed authentication: one entry per address per minute, carrying how many there were. */
  authFailure(ip: string, code: string): void {
    const now = Date.now();
    const seen = this.failures.get(ip);
    if (seen && now - seen.since < 60_000) {
      seen.count++;
      return;
    }
    this.failures.set(ip, { since: now, count: 1 });
    this.record('auth.failure', { ip }, undefined, { code, ...(seen && seen.count > 1 ? { failures_in_previous_minute: seen.count } : {}) });
  }

  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    await Promise.all(this.pending);
    let q = this.db.selectFrom('audit_log').selectAll().orderBy('at', 'desc').orderBy('id').limit(Math.min(query.limit ?? 100, 1000));
    if (query.action) q = q.where('action', '=', query.action);
    if (query.keyId) q = q.where('key_id', '=', query.keyId);
    const rows = await q.execute();
    return rows.map(({ detail_json, ...rest }) => ({ ...rest, detail: detail_json ? JSON.parse(detail_json) as Record<string, unknown> : null }));
  }
}
