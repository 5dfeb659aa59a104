// Mutation testing (`npm run mutation`, not part of `npm test`): Stryker changes the
// code of the request path one mutant at a time and reruns the tests that reach it;
// a mutant no test notices is a gap. See docs/testing.md for the scores.
//
// This configuration covers the code that runs in the test process (the gateway's
// side). The tap runner runs each test file as its own node process and records
// which mutants each file reaches, so a mutant reruns only the files that cover it.
// Code that runs only inside worker processes is not seen by that coverage: it has
// its own configuration, stryker.worker.config.mjs.
export const shared = {
  testRunner: 'tap',
  coverageAnalysis: 'perTest',
  concurrency: 2,
  timeoutMS: 10000,
  reporters: ['clear-text', 'progress', 'json'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  // Stryker's tsconfig rewriting needs the TypeScript 5 API; tsx runs the sources without it.
  tsconfigFile: 'no-tsconfig-for-stryker.json',
  ignorePatterns: ['reports', 'bench/results', '.corral'],
};

// The folders under test, each with the test files that aim at it (a test file
// reaches more code than its folder, and every file that reaches a mutant reruns
// for it, so the lists stay short). Files run in list order and stop at the first
// that fails, so the fast, focused ones come first. `MUTATE=jobs npm run mutation` runs one folder.
const WORKER_TESTS = [
  // WorkerPool and WorkerHandle driven directly (about 8 s): kills most of src/workers/ before the slower suites run.
  'test/workers/worker-pool.test.ts',
  'test/workers/batch-split-signature.test.ts',
  'test/workers/batching-e2e.test.ts',
  'test/workers/crash-recovery.test.ts',
  'test/workers/error-classification.test.ts',
  'test/workers/model-cache.test.ts',
  'test/workers/request-timeout.test.ts',
  'test/workers/version-retirement.test.ts',
];
const FOLDERS = {
  batching: { mutate: ['src/batching/**/*.ts'], tests: ['test/batching/*.test.ts', 'test/workers/batching-e2e.test.ts', 'test/workers/batch-split-signature.test.ts'] },
  inference: { mutate: ['src/inference/**/*.ts'], tests: [...WORKER_TESTS, 'test/gateway/kserve-api.test.ts'] },
  repository: { mutate: ['src/repository/**/*.ts'], tests: ['test/repository/*.test.ts', 'test/gateway/multipart-errors.test.ts', 'test/gateway/mlbuffet-api.test.ts', 'test/workers/version-retirement.test.ts'] },
  jobs: { mutate: ['src/jobs/**/*.ts'], tests: ['test/jobs/in-process-job-queue.test.ts', 'test/jobs/webhook-delivery.test.ts', 'test/jobs/bullmq-job-queue.test.ts', 'test/jobs/jobs-list.test.ts', 'test/jobs/webhook-safety.test.ts', 'test/jobs/in-process-jobs.test.ts'] },
  workers: { mutate: ['src/workers/**/*.ts', '!src/workers/worker-main.ts'], tests: WORKER_TESTS },
};
const folders = (process.env.MUTATE ?? Object.keys(FOLDERS).join(',')).split(',').map((name) => {
  if (!(name in FOLDERS)) throw new Error(`MUTATE: no folder '${name}'; one of ${Object.keys(FOLDERS).join(', ')}`);
  return FOLDERS[name];
});

// `MUTATE_FILES=src/workers/worker-pool.ts` narrows a run to some files of the chosen
// folders, with a report of its own: a long folder can run in pieces, and a piece that
// finished keeps its results if a later one is stopped (the score reads the newest
// report for each file).
const only = process.env.MUTATE_FILES?.split(',').filter(Boolean);
const reportName = [(process.env.MUTATE ?? 'all').replaceAll(',', '+'), ...(only ?? []).map((f) => f.replace(/^src\//, '').replace(/\.ts$/, '').replaceAll('/', '-'))].join('+');

export default {
  ...shared,
  mutate: only ?? [...folders.flatMap((f) => f.mutate), '!src/**/index.ts'],
  tap: {
    nodeArgs: ['-r', '{{hookFile}}', '--import', 'tsx', '{{testFile}}'],
    testFiles: [...new Set(folders.flatMap((f) => f.tests))],
  },
  jsonReporter: { fileName: `reports/mutation/${reportName}.json` },
};
