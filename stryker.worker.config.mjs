// Mutation testing of the worker process's entry (src/workers/worker-main.ts).
// Its code runs only in the worker processes the tests fork, so the tap runner's
// coverage (recorded in the test process) sees none of it and would call every
// mutant "no coverage". The command runner records no coverage: every mutant runs
// these test files, one at a time, stopping at the first that fails. The active
// mutant reaches the workers through the environment they inherit.
import { shared } from './stryker.config.mjs';

const TEST_FILES = [
  // WorkerPool and WorkerHandle driven directly (about 8 s): runs, chunks, inspect, stats, exit.
  'test/workers/worker-pool.test.ts',
  'test/workers/error-classification.test.ts',
  'test/workers/batching-e2e.test.ts',
  'test/workers/crash-recovery.test.ts',
  'test/workers/version-retirement.test.ts',
  // The worker's corral.compute span, a child of the gateway's batch span.
  'test/tracing/otel.test.ts',
];

export default {
  ...shared,
  testRunner: 'command',
  coverageAnalysis: 'off',
  commandRunner: {
    command: `for f in ${TEST_FILES.join(' ')}; do node --import tsx --test "$f" > /dev/null 2>&1 || exit 1; done`,
  },
  mutate: ['src/workers/worker-main.ts'],
  jsonReporter: { fileName: 'reports/mutation/worker-main.json' },
};
