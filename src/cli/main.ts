import { Command } from 'commander';
import { VERSION } from '../gateway/version.js';
import { ExitError } from './exit-error.js';
import { registerStart } from './start-command.js';

const program = new Command('corral')
  .description('Corral: self-hosted machine-learning model serving')
  .version(VERSION);
registerStart(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // One clear line, a meaningful exit code; stack traces only with CORRAL_DEBUG.
  const exitCode = err instanceof ExitError ? err.exitCode : 1;
  console.error(`corral: ${(err as Error).message}`);
  if (process.env.CORRAL_DEBUG) console.error(err);
  process.exitCode = exitCode;
}
