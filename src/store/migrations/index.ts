import type { Migration } from 'kysely';
import * as m0001 from './0001-models.js';
import * as m0002 from './0002-services.js';
import * as m0003 from './0003-model-registry.js';
import * as m0004 from './0004-auth.js';
import * as m0005 from './0005-model-timeout.js';
import * as m0006 from './0006-service-wake.js';
import * as m0007 from './0007-training-jobs.js';
import * as m0008 from './0008-training-slurm.js';
import * as m0009 from './0009-model-padding.js';
import * as m0010 from './0010-builtin-replicas.js';
import * as m0011 from './0011-registry-task.js';

/** Every migration, in order. New ones are appended here, never renamed. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001-models': m0001,
  '0002-services': m0002,
  '0003-model-registry': m0003,
  '0004-auth': m0004,
  '0005-model-timeout': m0005,
  '0006-service-wake': m0006,
  '0007-training-jobs': m0007,
  '0008-training-slurm': m0008,
  '0009-model-padding': m0009,
  '0010-builtin-replicas': m0010,
  '0011-registry-task': m0011,
};
