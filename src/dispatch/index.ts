export type { InferenceDispatcher, RunLimits, WorkerInfo } from './inference-dispatcher.js';
