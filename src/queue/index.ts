export type { InferenceDispatcher, WorkerInfo } from './dispatcher.js';
