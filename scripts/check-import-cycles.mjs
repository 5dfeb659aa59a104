// Fails when the source has an import cycle. esbuild (already here through tsx)
// resolves every import of every entry point; this walks the resulting graph.
// Type-only imports are erased by esbuild and do not count: they cannot loop at run time.
import { build } from 'esbuild';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []);

const { metafile } = await build({
  entryPoints: files('src'), bundle: true, write: false, metafile: true, platform: 'node', format: 'esm',
  outdir: '/nonexistent', packages: 'external', logLevel: 'silent',
});
const graph = new Map(Object.entries(metafile.inputs).map(([file, { imports }]) => [file, imports.map((i) => i.path).filter((p) => p.startsWith('src/'))]));

// Depth-first search with colours: meeting a grey node again closes a cycle.
const state = new Map();
const cycles = [];
const visit = (node, path) => {
  state.set(node, 'grey');
  for (const next of graph.get(node) ?? []) {
    if (state.get(next) === 'grey') cycles.push([...path.slice(path.indexOf(next)), next]);
    else if (!state.has(next)) visit(next, [...path, next]);
  }
  state.set(node, 'black');
};
for (const node of graph.keys()) if (!state.has(node)) visit(node, [node]);

if (cycles.length > 0) {
  console.error(`${cycles.length} import cycle(s):\n${cycles.map((c) => `  ${c.join(' → ')}`).join('\n')}`);
  process.exit(1);
}
console.log(`no import cycles among ${graph.size} modules`);
