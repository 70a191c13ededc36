import { defineConfig } from 'vitest/config';

// End-to-end: real Chromium against the real `tandem` binary. One server and
// browser per file, files one at a time (2 cores).
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
