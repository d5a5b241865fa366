/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

// `npm run dev` talks to a server on :8000 (python -m app); the built UI is served by that server itself.
const backend = process.env.BACKEND_URL ?? 'http://127.0.0.1:8000';

/**
 * Put the script and the stylesheet inside index.html. With AUTH_TOKEN set the server wants the token on every
 * path, the UI's own files included: a page opened as `/?token=...` then loads in one request, and the page
 * moves the token into sessionStorage for the WebSocket, REST and media URLs.
 */
function singleFile(): Plugin {
  return {
    name: 'timeline-single-file',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = Object.values(bundle).find((item) => item.type === 'asset' && item.fileName === 'index.html');
      if (!html || html.type !== 'asset') return;
      let page = String(html.source);
      for (const [fileName, item] of Object.entries(bundle)) {
        const tag = fileName.replaceAll('.', '\\.');
        if (item.type === 'chunk' && item.isEntry) {
          const code = item.code.replaceAll('</script', '<\\/script');
          page = page.replace(new RegExp(`<script[^>]*src="[^"]*${tag}"[^>]*></script>`), () => `<script type="module">${code}</script>`);
          delete bundle[fileName];
        } else if (item.type === 'asset' && fileName.endsWith('.css')) {
          const css = String(item.source).replaceAll('</style', '<\\/style');
          page = page.replace(new RegExp(`<link[^>]*href="[^"]*${tag}"[^>]*>`), () => `<style>${css}</style>`);
          delete bundle[fileName];
        }
      }
      html.source = page;
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [react(), singleFile()],
  server: {
    proxy: {
      '/ws': { target: backend, ws: true, changeOrigin: true },
      '/api': { target: backend, changeOrigin: true },
      '/uploads': { target: backend, changeOrigin: true },
      '/media': { target: backend, changeOrigin: true },
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 100_000,
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
