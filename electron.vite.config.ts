import { resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';

// Everything lands in out/: out/main/index.js (package.json "main"), out/preload/preload.cjs,
// out/renderer/index.html.
export default defineConfig({
  main: {
    build: {
      lib: { entry: { index: resolve('main/electron/main.ts') } },
    },
  },
  preload: {
    build: {
      // A sandboxed preload is run as a classic script: it cannot be ESM, so force CommonJS
      // even though package.json says "type": "module" (hence the .cjs extension).
      lib: { entry: { preload: resolve('main/electron/preload.ts') }, formats: ['cjs'] },
      rolldownOptions: { output: { entryFileNames: '[name].cjs' } },
    },
  },
  renderer: {
    root: resolve('renderer'),
    build: {
      rolldownOptions: { input: resolve('renderer/index.html') },
    },
    plugins: [svelte()],
  },
});
