import type { Migration } from 'kysely';
import * as m0001 from './0001-models.js';

/** Every migration, in order. New ones are appended here, never renamed. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-models': m0001,
};
