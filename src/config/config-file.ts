import { readFileSync, existsSync } from 'node:fs';
import { PaddingSettingSchema } from '../batching/padding-setting.js';
import type { ModelOverride } from './config.js';

/**
 * CORRAL_HOME/corral.json holds per-model settings an operator writes by hand:
 *   { "models": { "iris.onnx": { "max_batch_size": 8, "max_queue_delay_microseconds": 500, "timeout_ms": 120000 } } }
 * The batching names are Triton's, so a model's config.pbtxt translates one to one.
 * `timeout_ms` limits one inference request (CORRAL_REQUEST_TIMEOUT_MS otherwise);
 * `padding` sets how token models pad sequences to batch (false = off; absent = automatic);
 * an entry may name a service as well as a repository model.
 */
export async function readModelOverrides(path: string): Promise<Record<string, ModelOverride>> {
  if (!existsSync(path)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`);
  }
  const models = (parsed as { models?: Record<string, Record<string, unknown>> }).models ?? {};
  const result: Record<string, ModelOverride> = {};
  for (const [name, settings] of Object.entries(models)) {
    const entry: ModelOverride = {};
    if (typeof settings.max_batch_size === 'number') entry.maxBatchSize = settings.max_batch_size;
    if (typeof settings.max_queue_delay_microseconds === 'number') entry.maxQueueDelayMicroseconds = settings.max_queue_delay_microseconds;
    if (settings.timeout_ms !== undefined) {
      if (typeof settings.timeout_ms !== 'number' || !Number.isInteger(settings.timeout_ms) || settings.timeout_ms < 1) {
        throw new Error(`${path}: models["${name}"].timeout_ms must be a whole number of milliseconds (at least 1), got ${JSON.stringify(settings.timeout_ms)}`);
      }
      entry.timeoutMs = settings.timeout_ms;
    }
    if (settings.padding !== undefined) {
      // Loaded only for a padding setting: TypeBox's value checker costs ~6 MB a gateway keeps.
      const { Value } = await import('typebox/value');
      if (!Value.Check(PaddingSettingSchema, settings.padding)) {
        throw new Error(`${path}: models["${name}"].padding must be false or {"inputs": [names], "mask": name, "pad_id"?: n}, got ${JSON.stringify(settings.padding)}`);
      }
      entry.padding = settings.padding;
    }
    result[name] = entry;
  }
  return result;
}
