import { defineConfig } from 'vitest/config';

// Two cores in CI: forks keep test files isolated without oversubscribing them.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 20_000,
    hookTimeout: 60_000,
    globalSetup: ['test/global-setup.ts'],
    // A test that makes Node print a warning fails (the yaml library's, MaxListenersExceededWarning, …).
    setupFiles: ['test/support/no-warnings.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
  },
});
