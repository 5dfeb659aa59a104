#!/usr/bin/env node
// The `corral` command: the compiled JavaScript in dist/ (built by `npm ci`'s prepare
// step, or `npm run build`), with stack traces mapped back to the .ts sources. A
// checkout that has not been built runs the TypeScript sources through tsx instead.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  process.setSourceMapsEnabled(true);
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
