// `npm run mutation`: runs Stryker over the request path's folders (stryker.config.mjs,
// then the worker entry, stryker.worker.config.mjs) and prints the score per folder
// from their JSON reports. `MUTATE=jobs` runs one folder of the first configuration;
// `--worker-main` runs only the second; `--report-only` prints the scores of the last
// runs without running anything. Exits non-zero when a folder scores below the target.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const TARGET = 80;
const REPORTS = 'reports/mutation';

/**
 * Tests that SIGSTOP or hang a worker leave it behind when Stryker kills their run
 * at its time limit: the worker's parent is gone (parent pid 1) and it never exits.
 * Left alone they pile up and slow every later mutant, so they are killed as found.
 */
function killOrphanedWorkers() {
  if (!existsSync('/proc')) return;
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === 1 && readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('.stryker-tmp')) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // It ended while we looked.
    }
  }
}

function stryker(config) {
  return new Promise((resolve) => {
    const reaper = setInterval(killOrphanedWorkers, 20_000);
    spawn('npx', ['stryker', 'run', config], { stdio: 'inherit' }).on('exit', (code) => {
      clearInterval(reaper);
      killOrphanedWorkers();
      resolve(code ?? 1);
    });
  });
}

if (!process.argv.includes('--report-only')) {
  const configs = process.argv.includes('--worker-main') ? ['stryker.worker.config.mjs']
    : process.env.MUTATE ? ['stryker.config.mjs'] : ['stryker.config.mjs', 'stryker.worker.config.mjs'];
  for (const config of configs) {
    const status = await stryker(config);
    if (status !== 0) process.exit(status);
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
