import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: the simulator, DynamoDB Local and the tests share them.
    maxWorkers: 2,
    // Readable test output: the process-wide logger and the EMF metrics stay quiet unless a test turns them on
    // (tests that check log or metric lines make their own logger, or re-enable metrics for themselves).
    env: { POWERTOOLS_LOG_LEVEL: 'SILENT', POWERTOOLS_METRICS_DISABLED: 'true' },
  },
});
