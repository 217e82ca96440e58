import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright';

/** Debian's Chromium (Playwright cannot download browsers here): CHROMIUM_PATH, else /usr/bin/chromium. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function probe(): boolean {
  if (existsSync(chromiumPath)) return true;
  const why = `no Chromium at ${chromiumPath} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.POOLSCOPE_REQUIRE_CHROMIUM === '1') throw new Error(`Chromium is required (POOLSCOPE_REQUIRE_CHROMIUM=1) but there is ${why}`);
  console.warn(`\n*** END-TO-END SUITE SKIPPED: ${why}. POOLSCOPE_REQUIRE_CHROMIUM=1 makes this a failure. ***\n`);
  return false;
}

export const chromiumAvailable = probe();

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    // As root Chromium needs --no-sandbox; the rest keep it off this machine's closed network.
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
