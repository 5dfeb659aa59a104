export { ERROR_CATALOG, type ErrorCode } from './error-catalog.js';
export { CorralError, errors } from './corral-error.js';
export { toCorralError } from './to-corral-error.js';
