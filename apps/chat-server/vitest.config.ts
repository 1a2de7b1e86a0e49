import { defineConfig } from 'vitest/config';

// Tests start real processes (redis-server, chat servers): one file at a time, generous hooks.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], fileParallelism: false, testTimeout: 20_000, hookTimeout: 60_000 },
});
