import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolEvent } from '../../shared/events';
import type { PoolscopeService } from '../../main/engine/service';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { reveal } from './helpers/workspace';

// The journal's header says how many events this window received, how many it keeps (the
// last 1,000) and how many of those match the filter. Each is checked against the events the
// engine handed the page's transport, from the snapshot the page started on.

const CAPACITY = 1_000;

/** "12 matching of 1,000 kept · 5,310 received" → its three numbers. */
function countsOf(text: string | null): { matching: number; kept: number; received: number } | null {
  const m = /^([\d,]+) matching of ([\d,]+) kept · ([\d,]+) received$/.exec((text ?? '').trim());
  if (!m) return null;
  const n = (s: string) => Number(s.replaceAll(',', ''));
  return { matching: n(m[1]!), kept: n(m[2]!), received: n(m[3]!) };
}

describe.skipIf(!chromiumAvailable)('the events journal, in Chromium', () => {
  let app: App;
  let page: Page;
  let service: PoolscopeService;
  /** Every folded chunk's events the engine handed its transports, in order. */
  const stream: PoolEvent[] = [];
  /** The seq of the snapshot the page started from: it receives the events after it. */
  let since: number | null = null;
  let unsubscribe = () => {};

  beforeAll(async () => {
    app = await openApp({ settings: { max: 4 } });
    ({ page, service } = app);
    unsubscribe = service.engine.log.subscribeFolded((events) => stream.push(...events));
    const handle = service.handle.bind(service);
    service.handle = async (cmd: unknown, req: unknown) => {
      const reply = await handle(cmd, req);
      if (cmd === 'snapshot.get' && reply.ok) since = (reply.res as { seq: number }).seq;
      return reply;
    };
  });

  afterAll(async () => {
    unsubscribe();
    await app?.close();
  });

  /** What the header must say now, from the engine's side, with the journal's type filter `prefix`. */
  function expected(prefix: string) {
    const received = stream.filter((e) => e.seq > since!);
    const kept = received.slice(-CAPACITY);
    return { matching: kept.filter((e) => e.type !== 'server.observed' && e.type.startsWith(prefix)).length, kept: kept.length, received: received.length };
  }

  type Counts = NonNullable<ReturnType<typeof countsOf>>;
  const same = (shown: Counts | null, engine: Counts) => JSON.stringify(shown) === JSON.stringify(engine);

  /**
   * The header and the engine's count, read when no chunk arrived in between (the monitor adds
   * one about every 250 ms, and the page redraws the journal at most every 200 ms), once they
   * `agree` (by default: all three numbers equal), or the last pair read when `timeoutMs` runs out.
   */
  async function shownAndExpected(prefix: string, timeoutMs: number, agree = same) {
    const header = page.getByTestId('journal-counts');
    const end = Date.now() + timeoutMs;
    let last = { shown: null as ReturnType<typeof countsOf>, expected: expected(prefix) };
    while (Date.now() < end) {
      const before = stream.length;
      const shown = countsOf(await header.textContent({ timeout: 1_000 }));
      if (stream.length === before) {
        last = { shown, expected: expected(prefix) };
        if (agree(shown, last.expected)) break;
      }
      await page.waitForTimeout(30);
    }
    return last;
  }

  it('counts the events received, the last 1,000 kept and those matching its filter, as the engine sent them', async () => {
    // The page starts over, on a snapshot taken after the stream above began.
    await page.reload();
    await expect.poll(() => since, { timeout: 10_000 }).not.toBeNull();
    await reveal(page, 'journal-type');
    await page.getByTestId('journal-type').selectOption('borrower.');
    // Requests that hold their connection a little, a few hundred a second: more events than the journal keeps.
    await service.handle('load.start', { concurrency: 4, query: 'sleep', sleepMs: 5 });
    await expect.poll(() => expected('borrower.').received, { timeout: 30_000 }).toBeGreaterThan(CAPACITY * 1.5);
    await service.handle('load.stop', undefined);

    const { shown, expected: engine } = await shownAndExpected('borrower.', 10_000);
    expect(engine.kept).toBe(CAPACITY);
    expect(engine.matching).toBeGreaterThan(0);
    expect(engine.matching).toBeLessThan(CAPACITY);
    expect(shown).toEqual(engine);

    // Another filter counts the same 1,000 again.
    await page.getByTestId('journal-type').selectOption('statement.');
    const again = await shownAndExpected('statement.', 10_000);
    expect(again.expected.matching).toBeGreaterThan(0);
    expect(again.shown).toEqual(again.expected);

    // Paused, it keeps what it had and counts what it did not record; received goes on.
    await page.getByTestId('journal-pause').click();
    await service.handle('load.start', { concurrency: 4, query: 'sleep', sleepMs: 5 });
    await page.waitForTimeout(1_000);
    await service.handle('load.stop', undefined);
    const paused = await shownAndExpected('statement.', 10_000, (shown, engine) => shown?.received === engine.received);
    const notRecorded = Number(/^paused · ([\d,]+) not recorded$/.exec((await page.getByRole('status').filter({ hasText: 'not recorded' }).textContent({ timeout: 1_000 })) ?? '')?.[1]?.replaceAll(',', ''));
    expect(paused.shown?.received).toBe(paused.expected.received);
    expect(notRecorded).toBeGreaterThan(100);
    // What it keeps is the engine's last 1,000 before the pause: received less those not recorded.
    const atPause = stream.filter((e) => e.seq > since!).slice(0, paused.expected.received - notRecorded).slice(-CAPACITY);
    expect(paused.shown?.kept).toBe(atPause.length);
    expect(paused.shown?.matching).toBe(atPause.filter((e) => e.type.startsWith('statement.')).length);
  });
});
