// What the bench reads from the page, through Playwright: frame times (requestAnimationFrame
// deltas), long tasks (PerformanceObserver 'longtask'), the JS heap (CDP), and the RSS of
// Chromium's renderer processes (/proc). The page's CSP forbids eval, so everything runs
// as functions handed to page.evaluate.

import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright';
import { launchChromium } from '../e2e/helpers/chromium';
import build from '../e2e/setup/build.global';

export const RENDERER_ROOT = path.resolve(import.meta.dirname, '../../out/renderer');

interface FrameProbe {
  tick: (t: number) => void;
  frames: number[];
  longTasks: number[];
  last: number;
  stopped: boolean;
  observer: { disconnect(): void } | null;
}
interface PageGlobals {
  requestAnimationFrame(cb: (t: number) => void): number;
  PerformanceObserver: new (cb: (list: { getEntries(): { duration: number }[] }) => void) => { observe(o: { type: string }): void; disconnect(): void };
  __bench?: FrameProbe;
}

/** Builds the renderer when it is missing or older than its sources (as the e2e suite does). */
export async function ensureBuilt(): Promise<void> {
  await build();
}

export async function openPage(url: string): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
  // tsx compiles the functions handed to page.evaluate with esbuild's keepNames, which
  // calls a module helper `__name` the page does not have: give it one that does nothing.
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.goto(url);
  return { browser, page };
}

export async function startFrameProbe(page: Page): Promise<void> {
  await page.evaluate(() => {
    const g = globalThis as unknown as PageGlobals;
    const probe: FrameProbe = { tick: () => {}, frames: [], longTasks: [], last: 0, stopped: false, observer: null };
    g.__bench = probe;
    probe.tick = (t) => {
      if (probe.stopped) return;
      if (probe.last > 0) probe.frames.push(t - probe.last);
      probe.last = t;
      g.requestAnimationFrame(probe.tick);
    };
    g.requestAnimationFrame(probe.tick);
    const observer = new g.PerformanceObserver((list) => {
      for (const e of list.getEntries()) probe.longTasks.push(e.duration);
    });
    observer.observe({ type: 'longtask' });
    probe.observer = observer;
  });
}

export async function stopFrameProbe(page: Page): Promise<{ frames: number[]; longTasks: number[] }> {
  return page.evaluate(() => {
    const probe = (globalThis as unknown as PageGlobals).__bench;
    if (!probe) return { frames: [], longTasks: [] };
    probe.stopped = true;
    probe.observer?.disconnect();
    return { frames: probe.frames, longTasks: probe.longTasks };
  });
}

/** The page's JS heap after a full collection, bytes. */
export async function pageHeap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    return usedSize;
  } finally {
    await cdp.detach();
  }
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1_024 : 0;
}

/**
 * RSS of the Chromium renderer processes this process launched (the page's), bytes; 0
 * where /proc cannot tell. Playwright's Browser does not expose its pid: the renderers
 * are found among our own descendants.
 */
export function rendererRss(): number {
  const root = process.pid;
  let total = 0;
  try {
    const parents = new Map<number, number>();
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        // gone meanwhile
      }
    }
    const descends = (pid: number): boolean => {
      for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === root) return true;
      return false;
    };
    for (const pid of parents.keys()) {
      if (!descends(pid)) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('--type=renderer')) total += rssOf(pid);
    }
  } catch {
    return 0;
  }
  return total;
}
