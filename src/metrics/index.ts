export { createMetrics, type CorralMetrics } from './metrics.js';
