import { defineConfig } from 'vite';

// Preact's automatic JSX runtime through Vite 8's oxc transformer (no Babel, no plugin package).
export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
});
