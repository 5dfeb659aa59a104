import { readFileSync, existsSync } from 'node:fs';
import type { BatchingConfig } from './config.js';

/**
 * CORRAL_HOME/corral.json holds per-model settings an operator writes by hand:
 *   { "models": { "iris.onnx": { "max_batch_size": 8, "max_queue_delay_microseconds": 500 } } }
 * The names are Triton's, so a model's config.pbtxt translates one to one.
 */
export function readModelOverrides(path: string): Record<string, Partial<BatchingConfig>> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const models = (parsed as { models?: Record<string, Record<string, unknown>> }).models ?? {};
  const result: Record<string, Partial<BatchingConfig>> = {};
  for (const [name, settings] of Object.entries(models)) {
    const entry: Partial<BatchingConfig> = {};
    if (typeof settings.max_batch_size === 'number') entry.maxBatchSize = settings.max_batch_size;
    if (typeof settings.max_queue_delay_microseconds === 'number') entry.maxQueueDelayMicroseconds = settings.max_queue_delay_microseconds;
    result[name] = entry;
  }
  return result;
}
