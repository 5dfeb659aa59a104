import { databasePath, type CorralConfig } from '../config/config.js';

/** Where the state lives: a SQLite file in CORRAL_HOME, or a PostgreSQL database that several gateways share. */
export type DatabaseTarget = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/**
 * CORRAL_DATABASE_URL when set, else CORRAL_HOME/corral.sqlite.
 * @example openDatabase(databaseTarget(loadConfig()))
 */
export function databaseTarget(config: Pick<CorralConfig, 'home' | 'databaseUrl'>): DatabaseTarget {
  return config.databaseUrl ? { kind: 'postgres', url: config.databaseUrl } : { kind: 'sqlite', path: databasePath(config) };
}

/** The target as it may be printed or logged: a URL's password is replaced by ***. */
export function describeTarget(target: DatabaseTarget): string {
  if (target.kind === 'sqlite') return target.path;
  return redactPassword(target.url);
}

export function redactPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Unparseable: print nothing of it past the scheme rather than risk a password.
    return `${url.split(':')[0]}://(unparseable URL)`;
  }
}
