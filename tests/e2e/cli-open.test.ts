import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { launchChromium } from './helpers/chromium';
import { chromiumAvailable } from './helpers/chromium-gate';
import { REPO_ROOT } from './helpers/app';

// `poolscope web` opens the browser without the token on any command line (other local
// users can read those): its opener, here a stand-in xdg-open that writes down what it was
// given, gets the path of a private redirect page, which Chromium then follows to the app.

describe.skipIf(!chromiumAvailable || process.platform !== 'linux')('poolscope web opens the browser', () => {
  let bin: string;
  let cli: ChildProcess;
  let browser: Browser;
  let stdout = '';

  beforeAll(async () => {
    bin = await mkdtemp(path.join(os.tmpdir(), 'poolscope-xdg-'));
    const opener = path.join(bin, 'xdg-open');
    // modes is written last and whole (a rename), so that its existence means the rest is there.
    writeFileSync(opener, `#!/bin/sh\ncat /proc/$$/cmdline | tr '\\0' '\\n' > "${bin}/cmdline"\ncp "$1" "${bin}/page.html"\nstat -c %a "$1" "$(dirname "$1")" > "${bin}/modes.part"\nmv "${bin}/modes.part" "${bin}/modes"\n`);
    chmodSync(opener, 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DISPLAY: ':99' };
    delete env.CI;
    cli = spawn(process.execPath, ['--import', 'tsx', 'main/cli.ts', 'web', '--target', inject('pgUrl')], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
    cli.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    if (cli && cli.exitCode === null) {
      cli.kill('SIGINT');
      await new Promise((resolve) => cli.once('exit', resolve));
    }
    await rm(bin, { recursive: true, force: true });
  });

  it('gives the opener a 0600 page in a 0700 directory, which leads to the app; the page is gone at exit', async () => {
    await expect.poll(() => /poolscope: open (\S+)/.exec(stdout)?.[1], { timeout: 60_000 }).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{32}$/);
    const url = /poolscope: open (\S+)/.exec(stdout)![1]!;
    const token = url.split('#token=')[1]!;
    await expect.poll(() => existsSync(path.join(bin, 'modes')), { timeout: 10_000 }).toBe(true);

    const cmdline = readFileSync(path.join(bin, 'cmdline'), 'utf8').trim().split('\n');
    expect(cmdline.join(' ')).not.toContain(token);
    const file = cmdline.at(-1)!;
    expect(file).toMatch(/poolscope-open-\w+\/open\.html$/);
    expect(readFileSync(path.join(bin, 'modes'), 'utf8').split('\n').slice(0, 2)).toEqual(['600', '700']);
    expect(readFileSync(path.join(bin, 'page.html'), 'utf8')).toContain(url);

    const page = await browser.newPage();
    await page.goto(pathToFileURL(file).href);
    await page.getByTestId('target-summary').filter({ hasText: 'poolscope_demo' }).waitFor({ timeout: 20_000 });
    expect(page.url()).toBe(url.replace(/#token=.*$/, ''));

    cli.kill('SIGINT');
    await new Promise((resolve) => cli.once('exit', resolve));
    expect(existsSync(path.dirname(file))).toBe(false);
  });
});
