export { ServiceRegistry, BUILTIN_SERVICES, type NewService } from './service-registry.js';
export { ServiceRunner, type LauncherFactory } from './service-runner.js';
export { ServiceMonitor } from './service-monitor.js';
export { decodeHostSpec, type HostSpec } from './host-spec.js';
export { decodeFrame, encodeFrame, readFrames, INVOKE_CONTENT_TYPE, type InvokeFrame } from './invoke-frames.js';
export { SERVICE_STATES, type ServiceRecord, type ServiceState } from './service-record.js';
export { TASKS, canonicalTask, defaultRuntime, type Task } from './tasks.js';
export { resolveTransformersModel, hubCacheDirs, snapshotOf } from './resolve-model.js';
