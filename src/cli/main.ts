import { Command } from 'commander';
import { VERSION } from '../gateway/version.js';
import { EXIT, ExitError } from './exit-error.js';
import { registerHost } from './host-command.js';
import { registerBoxCommands } from './box-commands.js';
import { registerDbCommands } from './db-commands.js';
import { registerAuditCommand, registerKeyCommands } from './key-commands.js';
import { registerProfileCommands } from './profile-commands.js';
import { registerServiceCommands } from './service-commands.js';
import { registerStart } from './start-command.js';
import { registerTrainCommands } from './train-commands.js';
import { registerWorkerCommands } from './worker-command.js';

const program = new Command('corral')
  .description('Corral: self-hosted machine-learning model serving')
  .version(VERSION)
  .option('--url <url>', 'gateway URL (default http://$CORRAL_HOST:$CORRAL_PORT, i.e. http://127.0.0.1:8000)')
  .option('--api-key <key>', 'API key to send (default $CORRAL_API_KEY, else $CORRAL_HOME/admin.key when readable)')
  .option('--json', 'machine-readable output')
  .showHelpAfterError()
  // Commander's own usage errors exit through our handler, with exit code 2.
  .exitOverride((err) => { throw new ExitError(err.message.replace(/^error: /, ''), err.exitCode === 0 ? EXIT.OK : EXIT.USAGE); });
registerStart(program);
registerServiceCommands(program);
registerProfileCommands(program);
registerBoxCommands(program);
registerKeyCommands(program);
registerAuditCommand(program);
registerHost(program);
registerWorkerCommands(program);
registerTrainCommands(program);
registerDbCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // One clear line, a meaningful exit code; stack traces only with CORRAL_DEBUG.
  const exitCode = err instanceof ExitError ? err.exitCode : EXIT.FAILURE;
  if (exitCode !== EXIT.OK) console.error(`corral: ${(err as Error).message}`);
  if (process.env.CORRAL_DEBUG) console.error(err);
  process.exitCode = exitCode;
}
