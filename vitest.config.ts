import { defineConfig } from 'vitest/config';

// Unit tests run in parallel and fast; integration tests talk to real servers (an embedded
// PostgreSQL started for each project, MariaDB/MySQL at MYSQL_URL); end-to-end tests drive
// the built renderer in Debian's Chromium through the browser host.
//
// Integration runs in two lanes side by side, each one file at a time and each with its own
// embedded PostgreSQL, so that one lane's pool and server-side counts (and the tests that fill
// max_connections) never meet the other's: `integration` holds the tests that drive engines
// in the test's own process; `integration-commands` those that run Poolscope's commands and
// the apps they watch as child processes (attach, check, run, the bench), which mostly wait
// on those children. `npm test` runs unit, then the two lanes, then end-to-end: the
// end-to-end suite's timing-sensitive checks failed when it shared this machine's two cores.
const COMMANDS = ['tests/integration/attach.test.ts', 'tests/integration/attach-soak.test.ts', 'tests/integration/check.test.ts', 'tests/integration/masking.test.ts', 'tests/integration/bench-smoke.test.ts'];

const integration = {
  environment: 'node',
  globalSetup: ['tests/integration/setup/embedded-postgres.global.ts', 'tests/integration/setup/certificates.global.ts'],
  setupFiles: ['tests/integration/setup/invariants.ts'],
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 120_000,
};

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
        test: { ...integration, name: 'integration', include: ['tests/integration/**/*.test.ts'], exclude: COMMANDS },
      },
      {
        test: { ...integration, name: 'integration-commands', include: COMMANDS },
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
