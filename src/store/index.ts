export { openDatabase, migrateToLatest, type Db } from './database.js';
export type { Database, ModelsTable, ServicesTable } from './schema.js';
