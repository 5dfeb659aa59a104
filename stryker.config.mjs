// Mutation testing (`npm run mutation`, not part of `npm test`): Stryker changes the
// code under src/batching one mutant at a time and runs the scoped, fast tests that
// cover it; a mutant the tests do not notice is a gap. The command runner is used
// because Stryker has no runner for node:test. See docs/testing.md for the score.
export default {
  testRunner: 'command',
  commandRunner: { command: 'node --import tsx --test --test-concurrency=1 test/batching/dynamic-batcher.test.ts test/batching/tensor-batch.property.test.ts test/batching/text-list-codec.property.test.ts' },
  mutate: ['src/batching/**/*.ts', '!src/batching/index.ts'],
  coverageAnalysis: 'off',
  concurrency: 2,
  timeoutMS: 60000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // Stryker's tsconfig rewriting needs the TypeScript 5 API; tsx runs the sources without it.
  tsconfigFile: 'no-tsconfig-for-stryker.json',
  cleanTempDir: true,
};
