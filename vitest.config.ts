import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // ffi-rs is a native addon: run each test file in its own process, not a worker thread.
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    setupFiles: ['test/support/leaks.ts'],
    // First the tools the tests compare against (installed when missing), then the leak check.
    globalSetup: ['test/support/debian-tools.ts', 'test/support/global-leaks.ts'],
  },
});
