// Mutation testing of the worker process's entry (src/workers/worker-main.ts).
// Its code runs only in the worker processes the tests fork, where the tap runner
// cannot record coverage, so every mutant reruns these test files (stopping at the
// first that fails). The active mutant reaches the workers in their environment.
import { shared } from './stryker.config.mjs';

export default {
  ...shared,
  coverageAnalysis: 'off',
  mutate: ['src/workers/worker-main.ts'],
  tap: {
    nodeArgs: ['-r', '{{hookFile}}', '--import', 'tsx', '{{testFile}}'],
    testFiles: [
      // WorkerPool and WorkerHandle driven directly (about 8 s): runs, chunks, inspect, stats, exit.
      'test/workers/worker-pool.test.ts',
      'test/workers/error-classification.test.ts',
      'test/workers/batching-e2e.test.ts',
      'test/workers/crash-recovery.test.ts',
      'test/workers/version-retirement.test.ts',
      // The worker's corral.compute span, a child of the gateway's batch span.
      'test/tracing/otel.test.ts',
    ],
  },
  jsonReporter: { fileName: 'reports/mutation/worker-main.json' },
};
