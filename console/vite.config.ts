import { defineConfig } from 'vite';

// Served by the gateway under /console; everything is bundled (no CDN, no web fonts).
export default defineConfig({
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, chunkSizeWarningLimit: 400 },
});
