import { isAbsolute, resolve } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';

// The sandboxed preload can require 'electron' and nothing else at run time, and should carry
// nothing it does not need: fail its build if it imports a package other than electron (which
// would stay an external require() and break in the sandbox, or bloat it when bundled) or
// reaches engine or host code (zod, drivers).
function preloadGuard(): Plugin {
  return {
    name: 'poolscope:preload-guard',
    enforce: 'pre',
    resolveId(source, importer) {
      const bare = !source.startsWith('.') && !source.startsWith('\0') && !isAbsolute(source);
      if (importer && bare && source !== 'electron') {
        this.error(`the sandboxed preload may import only 'electron' and small local modules, not '${source}' (from ${importer})`);
      }
      return null;
    },
    load(id) {
      if (/[\\/](node_modules|main[\\/]engine|main[\\/]web)[\\/]/.test(id)) this.error(`the sandboxed preload must not bundle ${id}`);
      return null;
    },
  };
}

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
      // even though package.json says "type": "module" (hence the .cjs extension). It may
      // require only 'electron' (sandboxed preloads get a few built-in modules, no Node):
      // everything else it imports is bundled, so keep those imports type-only or tiny
      // (main/electron/channels.ts), never zod or engine code.
      lib: { entry: { preload: resolve('main/electron/preload.ts') }, formats: ['cjs'] },
      rolldownOptions: { output: { entryFileNames: '[name].cjs' } },
    },
    plugins: [preloadGuard()],
  },
  renderer: {
    root: resolve('renderer'),
    build: {
      rolldownOptions: { input: resolve('renderer/index.html') },
    },
    plugins: [svelte()],
  },
});
