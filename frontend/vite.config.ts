import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// Same-origin layout everywhere: the trading API under /api, the agent under /agent (nginx and the
// API map /agent/ to the agent). In development Vite plays that proxy.
const apiTarget = process.env.VITE_API_TARGET ?? 'http://127.0.0.1:8000';
const agentTarget = process.env.VITE_AGENT_TARGET ?? 'http://127.0.0.1:8001';

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': { target: apiTarget, changeOrigin: true },
      '/agent': {
        target: agentTarget,
        changeOrigin: true,
        rewrite: (path) => path.replace(/^\/agent/, ''),
      },
    },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    // dist/.vite/manifest.json: scripts/bundle-budget.mjs walks it to find the initial chunks
    manifest: true,
  },
  test: {
    environment: 'node',
    include: ['tests/unit/**/*.test.ts', 'tests/unit/**/*.test.tsx'],
    // component tests render pages against a stand-in server: slower than pure tests on a busy machine
    testTimeout: 30_000,
  },
});
