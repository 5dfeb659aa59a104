export * from './config.js';
export { readModelOverrides } from './config-file.js';
