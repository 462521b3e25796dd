import { defineConfig } from 'vite';

declare const process: { env: Record<string, string | undefined> };

// Preact's automatic JSX runtime through Vite's own transformer (oxc): no framework plugin, no
// Babel. `make dev` serves dist/ through the Worker; `vite` alone proxies /api to it.
export default defineConfig({
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
