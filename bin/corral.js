#!/usr/bin/env node
// The `corral` command: runs the TypeScript sources through tsx's loader,
// the same way `npm start` and the worker processes do.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
