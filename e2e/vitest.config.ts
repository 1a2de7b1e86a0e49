import { defineConfig } from 'vitest/config';

// Every file starts a whole topology of real processes: one file at a time, generous hooks.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], fileParallelism: false, testTimeout: 30_000, hookTimeout: 90_000 },
});
