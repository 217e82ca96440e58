import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in parallel and fast; integration tests talk to real
// servers (one embedded PostgreSQL for the run, MariaDB/MySQL at MYSQL_URL) and run
// one file at a time so pool and server-side counts are not disturbed by other files.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['tests/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/integration/setup/embedded-postgres.global.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
