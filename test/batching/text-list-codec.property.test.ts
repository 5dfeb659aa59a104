/**
 * Property tests (fast-check) for the text-list codec: whatever the requests
 * (how many, how many texts, with or without per-text instructions, which task
 * options), every request's results through concat → model → split, or through
 * the DynamicBatcher, equal running it alone. The "model" is a pure function.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DynamicBatcher, textListCodec } from '../../src/batching/index.js';
import type { TextListInput, TextListOutput } from '../../src/runtimes/task-io.js';

const RUNS = 200;

/**
 * A fake text model: one result per text, depending on the text, its
 * instruction ('' = none, as task-io documents) and the task options.
 */
function runModel(input: TextListInput): TextListOutput<unknown> {
  const options = JSON.stringify(input.options ?? {});
  return { results: input.texts.map((text, i) => ({ text, instruction: input.instructions?.[i] || null, options })) };
}

const optionsArb = fc.option(
  fc.record({ labels: fc.constantFrom(['a', 'b'], ['b', 'a']), topK: fc.integer({ min: 1, max: 2 }) }, { requiredKeys: ['labels'] }),
  { nil: undefined },
);
const requestArb = (options: fc.Arbitrary<Record<string, unknown> | undefined>): fc.Arbitrary<TextListInput> =>
  fc
    .record({
      texts: fc.array(fc.string({ maxLength: 4 }), { minLength: 0, maxLength: 4 }),
      withInstructions: fc.boolean(),
      instructionSeed: fc.nat(),
      options,
    })
    .map(({ texts, withInstructions, instructionSeed, options }) => ({
      texts,
      ...(withInstructions ? { instructions: texts.map((_, i) => ((instructionSeed + i) % 3 === 0 ? '' : `do ${(instructionSeed + i) % 7}`)) } : {}),
      ...(options ? { options } : {}),
    }));

describe('text-list codec properties', () => {
  test('concat → model → split gives every request what it gets alone', () => {
    fc.assert(
      fc.property(optionsArb.chain((o) => fc.array(requestArb(fc.constant(o)), { minLength: 1, maxLength: 8 })), (requests) => {
        const codec = textListCodec;
        assert.ok(requests.every((r) => codec.key(r) === codec.key(requests[0]!)), 'requests with equal options share a key');
        const rows = requests.map((r) => codec.rows(r));
        assert.deepEqual(rows, requests.map((r) => r.texts.length));
        const batch = codec.concat(requests);
        assert.equal(codec.rows(batch), rows.reduce((a, b) => a + b, 0));
        const parts = codec.split(runModel(batch), rows);
        requests.forEach((r, i) => assert.deepStrictEqual(parts[i], runModel(r), `request ${i} of ${requests.length}`));
      }),
      { numRuns: RUNS },
    );
  });

  test('through the DynamicBatcher, each of many mixed requests gets its results alone, each text run once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(requestArb(optionsArb), { minLength: 1, maxLength: 16 }),
        fc.record({ maxBatchSize: fc.integer({ min: 1, max: 10 }), capacity: fc.integer({ min: 1, max: 3 }) }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        async (requests, settings, yields) => {
          const batches: TextListInput[] = [];
          const batcher = new DynamicBatcher<TextListInput, TextListOutput<unknown>>({
            codec: textListCodec,
            execute: async (input) => {
              batches.push(input);
              await new Promise((r) => setImmediate(r));
              return runModel(input);
            },
            config: () => ({ maxBatchSize: settings.maxBatchSize, maxQueueDelayMicroseconds: 0 }),
            capacity: () => settings.capacity,
            maxQueuedRows: 100_000,
          });
          const pending: Promise<TextListOutput<unknown>>[] = [];
          for (const [i, r] of requests.entries()) {
            pending.push(batcher.submit(r));
            if (yields[i]) await new Promise((res) => setImmediate(res));
          }
          const results = await Promise.all(pending);
          requests.forEach((r, i) => assert.deepStrictEqual(results[i], runModel(r), `request ${i} of ${requests.length}`));
          assert.equal(batches.reduce((n, b) => n + b.texts.length, 0), requests.reduce((n, r) => n + r.texts.length, 0), 'every text ran exactly once');
        },
      ),
      { numRuns: RUNS },
    );
  });
});
