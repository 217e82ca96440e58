import type { Locator, Page } from 'playwright';
import type { PageElement } from './in-page';


/**
 * Shows the control group or detail tab that holds `target` (an element's test id, or a
 * locator): the workspace shows one of each at a time, and a hidden control cannot be clicked or filled.
 */
export async function reveal(page: Page, target: string | Locator, timeout = 10_000): Promise<void> {
  const el = (typeof target === 'string' ? page.getByTestId(target) : target).first();
  await el.waitFor({ state: 'attached', timeout });
  const tab = await el.evaluate((node) => (node as unknown as PageElement).closest('[role="tabpanel"]')?.getAttribute('aria-labelledby') ?? null);
  if (tab !== null) await page.locator(`#${tab}`).click({ timeout });
}

/**
 * Writes docs/screenshots/`name` as a person sees the window at `width`x`height` (not a full
 * page: what is drawn only on screen would come out blank), then puts the viewport back.
 */
export async function screenshot(page: Page, file: string, width = 1280, height = 720): Promise<void> {
  const before = page.viewportSize();
  await page.setViewportSize({ width, height });
  await page.evaluate('window.scrollTo(0, 0)');
  // Two frames: the charts redraw at the new width on the first.
  await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  await still(page, file);
  if (before) await page.setViewportSize(before);
}

/**
 * The page as it is, with its motion run to its end: a still caught mid-glide showed waiting
 * tokens on top of each other and tiles in their old state's colour, which the screen shows
 * only for an instant. (The GIF films the motion.)
 */
export async function still(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: file, animations: 'disabled' });
}
