import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The web UI (src/ui) built to static files in dist/ui, which the gateway
 * serves under /ui/ (src/gateway/ui/routes.ts). `npm ci` runs this build
 * through the `prepare` script; nothing is fetched at run time.
 */
export default defineConfig({
  root: fileURLToPath(new URL('./src/ui/', import.meta.url)),
  base: '/ui/',
  plugins: [preact()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/ui/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // One small script and one stylesheet; no inline code, so the CSP can be default-src 'self'.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
