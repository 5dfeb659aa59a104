import { fileURLToPath } from 'node:url';

/**
 * How a new node process runs one of Corral's entry points (a worker, `corral host`):
 * the compiled JavaScript in dist/ with plain node and source maps, when the caller
 * itself is compiled; the TypeScript sources through tsx's loader when it runs from
 * them (development and tests). `base` is the caller's import.meta.url; `relative`
 * names the entry without its extension.
 */
export function nodeEntry(base: string, relative: string): { path: string; execArgv: string[] } {
  const fromSources = base.endsWith('.ts');
  return {
    path: fileURLToPath(new URL(`${relative}${fromSources ? '.ts' : '.js'}`, base)),
    execArgv: fromSources ? ['--import', import.meta.resolve('tsx')] : ['--enable-source-maps'],
  };
}
