export { ModelRepository, type ModelInspector } from './model-repository.js';
export { validateModelName } from './model-name.js';
export { modelRef, hasBatchDimension, type ModelRecord } from './model-record.js';
