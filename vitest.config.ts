import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each test file in its own process: tests change per-process state (namespaces, rlimits,
    // signal handlers) that worker threads would share. test/worker.test.ts covers worker threads.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/leaks.ts'],
    // First the tools the tests compare against (installed when missing), then the leak check.
    globalSetup: ['test/support/debian-tools.ts', 'test/support/global-leaks.ts'],
  },
});
