import { defineConfig } from 'vitest/config';

// The controller test (test/chatClient.test.ts) starts real processes (redis-server, chat servers,
// the gateway): one file at a time, generous hooks.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 90_000,
  },
});
