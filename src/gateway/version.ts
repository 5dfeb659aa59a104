import { readFileSync } from 'node:fs';

/** Corral's version, from package.json, for /v2 and `corral --version`. */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
