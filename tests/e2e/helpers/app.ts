import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright';
import { inject } from 'vitest';
import type { PoolSettings } from '../../../shared/events';
import { Engine, type EngineOptions } from '../../../main/engine/engine';
import { PoolscopeService } from '../../../main/engine/service';
import { type WebHost, startWebHost } from '../../../main/web/web-host';
import { launchChromium } from './chromium';
import { type SentCommand, recordCommands } from './sent-commands';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../../..');
export const SHOTS = path.join(REPO_ROOT, 'docs/screenshots');

export interface App {
  service: PoolscopeService;
  host: WebHost;
  browser: Browser;
  page: Page;
  /** Every command the page sent, in order (the host hands each one to service.handle). */
  sent: SentCommand[];
  close(): Promise<void>;
}

/**
 * The engine behind the browser host, and the page open in Chromium on the demo database.
 * `embedded`: the engine starts its own embedded PostgreSQL in a temp dir (for suites that
 * restart it or reconfigure it freely); otherwise `target` (a URL) or the run's shared server.
 */
export async function openApp(opts: { settings: Partial<PoolSettings>; embedded?: boolean; target?: string; width?: number; height?: number; acceptDownloads?: boolean; knownHosts?: EngineOptions['knownHosts'] }): Promise<App> {
  const dataDir = opts.embedded ? await mkdtemp(path.join(os.tmpdir(), 'poolscope-e2e-')) : null;
  const knownHosts = opts.knownHosts;
  const engine = await Engine.start(dataDir ? { embedded: { dataDir }, settings: opts.settings, knownHosts } : { target: opts.target ?? inject('pgUrl'), settings: opts.settings, knownHosts });
  const service = new PoolscopeService(engine);
  const sent: SentCommand[] = [];
  recordCommands(service, sent);
  const host = await startWebHost({ service, root: path.join(REPO_ROOT, 'out/renderer') });
  const browser = await launchChromium();
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1440, height: opts.height ?? 1000 }, acceptDownloads: opts.acceptDownloads ?? false });
  await page.goto(host.url);
  await page.getByTestId('target-summary').filter({ hasText: `/${engine.targetSpec?.database ?? 'poolscope_demo'}` }).waitFor({ timeout: 20_000 });
  return {
    service,
    host,
    browser,
    page,
    sent,
    async close() {
      await browser.close();
      await host.close();
      await service.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
