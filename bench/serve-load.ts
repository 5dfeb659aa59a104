/** Runs one autocannon load in a child process (bench/load-client.ts) and returns its numbers. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ClientMessage, LoadResult, LoadSpec } from './load-types.js';

const CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));

export interface LoadHooks {
  /** Called when the warm-up is over and the measured window starts. */
  onMeasuring?: () => void;
  /** Called as the result arrives, i.e. right at the end of the measured window. */
  onMeasured?: () => void;
}

export function runLoad(spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CLIENT, [JSON.stringify(spec)], {
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: LoadResult | undefined;
    let failure: string | undefined;
    child.on('message', (m: ClientMessage) => {
      if (m.type === 'measuring') hooks.onMeasuring?.();
      else if (m.type === 'result') {
        hooks.onMeasured?.();
        result = m.result;
      } else failure = m.error;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (failure) reject(new Error(`load client failed: ${failure}`));
      else if (result) resolve(result);
      else reject(new Error(`load client exited (${signal ?? `code ${code}`}) without a result`));
    });
  });
}
