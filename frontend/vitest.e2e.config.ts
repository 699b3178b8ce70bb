import { defineConfig } from 'vitest/config';

// Browser end-to-end suite (e2e/*.e2e.ts): one real stack per file, steps in order, no parallelism.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 90_000,
    hookTimeout: 150_000,
    fileParallelism: false,
    sequence: { concurrent: false },
    reporters: ['verbose'],
  },
});
