export { ServiceRegistry, BUILTIN_SERVICES, type NewService } from './service-registry.js';
export { ServiceRunner } from './service-runner.js';
export { SERVICE_STATES, type ServiceRecord, type ServiceState } from './service-record.js';
export { TASKS, canonicalTask, defaultRuntime, type Task } from './tasks.js';
export { resolveTransformersModel, hubCacheDirs, snapshotOf } from './resolve-model.js';
