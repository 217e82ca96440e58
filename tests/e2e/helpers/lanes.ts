import type { Page } from 'playwright';
import type { PageElement, PageGlobals } from './in-page';

/** Each lane of the picture as drawn: where its words overlap, and its line against the engine's. */
export interface LaneSeen {
  label: string;
  /** Boxes that overlap (the label over the line, a token over the count) and tokens not opaque: what a person cannot read. */
  overlaps: string[];
  count: number;
  tokens: number;
  more: number;
}

export function lanesSeen(page: Page): Promise<LaneSeen[]> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const over = (a: PageElement | null, b: PageElement | null) => {
      if (!a || !b) return false;
      const x = a.getBoundingClientRect();
      const y = b.getBoundingClientRect();
      return x.width > 0 && y.width > 0 && x.left < y.right - 0.5 && y.left < x.right - 0.5 && x.top < y.bottom - 0.5 && y.top < x.bottom - 0.5;
    };
    // "20 waiting", "+28 more" and "oldest 2.1 s" may each go on a line of their own, whole and inside the line's column.
    const countWords = (line: PageElement | null) => {
      const box = line?.getBoundingClientRect();
      return Array.from(line?.querySelectorAll(':scope > :first-child > span') ?? []).flatMap((w) => [
        ...(w.getClientRects().length > 1 ? [`"${w.textContent}" broken over two lines`] : []),
        ...(box && w.getBoundingClientRect().right > box.right + 0.5 ? [`"${w.textContent}" out of the waiting line`] : []),
      ]);
    };
    return Array.from(g.document.querySelectorAll('[data-testid="pool-lane"]')).map((lane) => {
      const line = lane.querySelector('[data-testid="waiting-line"]');
      const count = line?.querySelector(':scope > :first-child') ?? null;
      const words = Array.from(lane.querySelectorAll(':scope > :first-child > span'));
      const tokens = Array.from(line?.querySelectorAll('[data-testid="waiting-token"]') ?? []);
      const overlaps = [
        ...words.filter((w) => over(w, line)).map((w) => `"${w.textContent}" over the waiting line`),
        ...countWords(line),
        // A word with no place to break (a URL) overflows its box without the box growing.
        ...words.filter((w) => w.scrollWidth > w.clientWidth + 1).map((w) => `"${w.textContent}" out of its column`),
        // Tokens in a compact picture hold still: none may stand over the count, in any frame.
        ...tokens.filter((t) => over(t, count)).map(() => 'a token over the count'),
        ...tokens.filter((t) => g.getComputedStyle(t).opacity !== '1').map(() => 'a token not opaque'),
      ];
      return {
        label: lane.querySelector(':scope > :first-child > span')?.textContent ?? '?',
        overlaps,
        count: Number(line?.getAttribute('data-count')),
        tokens: tokens.length,
        more: Number((line?.querySelector('[data-testid="waiting-more"]')?.textContent ?? '+0').replace(/\D/g, '')),
      };
    });
  });
}

/**
 * The picture's tiles whose words do not fit, by what each says: a line squeezed shorter than
 * its words, a word wider than the tile (cut at its edge; a holder's name ends in an ellipsis
 * instead, its title says it all), or a line under the next one or past the tile's bottom.
 */
export function clippedTiles(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    return Array.from(g.document.querySelectorAll('[data-testid="slot"]'))
      .filter((tile) => {
        const spans = Array.from(tile.querySelectorAll(':scope > span'));
        const parts = spans.map((el) => el.getBoundingClientRect());
        const inner = tile.getBoundingClientRect().bottom - 2;
        const squeezed = spans.some((el) => el.scrollHeight > el.clientHeight || (el.scrollWidth > el.clientWidth && g.getComputedStyle(el).textOverflow !== 'ellipsis'));
        return squeezed || parts.some((r, k) => r.bottom > inner + 0.5 || (k > 0 && r.top < parts[k - 1]!.bottom - 0.5));
      })
      .map((tile) => tile.getAttribute('aria-label') ?? '');
  });
}
