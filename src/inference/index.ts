export { InferenceService, type InferenceRequest } from './inference-service.js';
export { validateInputs, describe as describeSpecs } from './validate-inputs.js';
export type { ExecutionTarget } from './execution-target.js';
