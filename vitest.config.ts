import { defineConfig } from 'vitest/config';

// Three projects: unit tests run in parallel and fast; integration tests talk to real
// servers (one embedded PostgreSQL for the run, MariaDB/MySQL at MYSQL_URL); end-to-end
// tests drive the built renderer in Debian's Chromium through the browser host. The
// last two run one file at a time so pool and server-side counts are not disturbed, and
// `npm test` runs the three projects one after another: run together they competed for
// this machine's two cores, and timing-sensitive end-to-end checks failed under that load.
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
          globalSetup: ['tests/integration/setup/embedded-postgres.global.ts', 'tests/integration/setup/certificates.global.ts'],
          setupFiles: ['tests/integration/setup/invariants.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/integration/setup/embedded-postgres.global.ts', 'tests/integration/setup/certificates.global.ts', 'tests/e2e/setup/build.global.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
