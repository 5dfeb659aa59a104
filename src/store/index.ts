export { openDatabase, type Db, type OpenOptions } from './database.js';
export { databaseKind, type DatabaseKind } from './database-kind.js';
export { databaseTarget, describeTarget, redactPassword, type DatabaseTarget } from './database-target.js';
export { DatabaseNewerThanCodeError, migrateToLatest, migrationStatus, type MigrationState } from './migrate.js';
export type { Database, ModelsTable, ServicesTable } from './schema.js';
