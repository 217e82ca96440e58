import { missingChromium } from './chromium';

// Suites that need a browser skip loudly without one, or fail when CI requires it.
function probe(): boolean {
  const why = missingChromium();
  if (why === null) return true;
  if (process.env.POOLSCOPE_REQUIRE_CHROMIUM === '1') throw new Error(`Chromium is required (POOLSCOPE_REQUIRE_CHROMIUM=1) but there is ${why}`);
  console.warn(`\n*** END-TO-END SUITE SKIPPED: ${why}. POOLSCOPE_REQUIRE_CHROMIUM=1 makes this a failure. ***\n`);
  return false;
}

export const chromiumAvailable = probe();
