import { defineConfig, type Plugin } from 'vite';
import document from '../docs/openapi.json' with { type: 'json' };

declare const process: { env: Record<string, string | undefined> };

// The API's OpenAPI document (docs/openapi.json, kept by hand), minified into the static assets:
// the Worker serves it at /api/openapi.json from there, so it costs the wasm nothing.
function openapi(): Plugin {
  return {
    name: 'beacon-openapi',
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'openapi.json', source: JSON.stringify(document) });
    },
  };
}

// Preact's automatic JSX runtime through Vite's own transformer (oxc): no framework plugin, no
// Babel. `make dev` serves dist/ through the Worker; `vite` alone proxies /api to it.
export default defineConfig({
  plugins: [openapi()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    reportCompressedSize: true,
    modulePreload: { polyfill: false },
  },
  server: {
    proxy: { '/api': { target: process.env.BEACON_API ?? 'http://127.0.0.1:8787', changeOrigin: false } },
  },
});
