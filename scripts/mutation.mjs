// `npm run mutation`: runs Stryker over the request path's folders (stryker.config.mjs,
// then the worker entry, stryker.worker.config.mjs) and prints the score per folder
// from their JSON reports. `MUTATE=jobs` runs one folder of the first configuration;
// `--report-only` prints the scores of the last runs without running anything.
// Exits non-zero when a folder scores below the target.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const TARGET = 80;
const REPORTS = 'reports/mutation';

if (!process.argv.includes('--report-only')) {
  const runs = [['stryker.config.mjs']];
  if (!process.env.MUTATE) runs.push(['stryker.worker.config.mjs']);
  for (const args of runs) {
    const run = spawnSync('npx', ['stryker', 'run', ...args], { stdio: 'inherit' });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
}

// A source file's mutants come from the newest report that has it (a one-folder run
// after a full run replaces that folder's results).
const byFile = new Map();
const reports = existsSync(REPORTS) ? readdirSync(REPORTS).filter((f) => f.endsWith('.json')).map((f) => join(REPORTS, f)) : [];
for (const path of reports.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs)) {
  for (const [file, { mutants }] of Object.entries(JSON.parse(readFileSync(path, 'utf8')).files)) byFile.set(relative(process.cwd(), file), mutants);
}

// Detected = killed or timed out; valid = detected, survived or not covered (Stryker's own score).
const folders = new Map();
for (const [file, mutants] of byFile) {
  const folder = file.split('/').slice(0, 2).join('/');
  const tally = folders.get(folder) ?? { detected: 0, survived: 0, noCoverage: 0 };
  for (const mutant of mutants) {
    if (mutant.status === 'Killed' || mutant.status === 'Timeout') tally.detected++;
    else if (mutant.status === 'Survived') tally.survived++;
    else if (mutant.status === 'NoCoverage') tally.noCoverage++;
  }
  folders.set(folder, tally);
}

let failed = false;
console.log('\nfolder                 score   detected  survived  no coverage');
for (const [folder, t] of [...folders].sort()) {
  const valid = t.detected + t.survived + t.noCoverage;
  const score = valid === 0 ? 100 : (100 * t.detected) / valid;
  failed ||= score < TARGET;
  console.log(`${folder.padEnd(22)} ${score.toFixed(1).padStart(5)}%  ${String(t.detected).padStart(8)}  ${String(t.survived).padStart(8)}  ${String(t.noCoverage).padStart(11)}`);
}
if (failed) console.log(`\nbelow the ${TARGET}% target`);
process.exit(failed ? 1 : 0);
