export { openDatabase, migrateToLatest, type Db } from './database.js';
export type { Database, ModelsTable } from './schema.js';
