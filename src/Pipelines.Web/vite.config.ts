import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// Everything is bundled (Monaco and its worker included): the UI works offline, from the server's wwwroot.
export default defineConfig({
  plugins: [react()],
  resolve: {
    // Monaco's package exports hide its ESM tree; the designer imports only the editor core and the YAML grammar.
    alias: [{ find: /^monaco-editor\/esm\/(.*)$/, replacement: fileURLToPath(new URL('./node_modules/monaco-editor/esm/', import.meta.url)) + '$1' }],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    sourcemap: false,
  },
  worker: { format: 'es' },
  server: {
    proxy: { '/api': process.env.PIPELINES_SERVER ?? 'http://127.0.0.1:5080' },
  },
});
