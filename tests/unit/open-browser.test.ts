import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openBrowser, openerCommand, redirectPage } from '../../main/web/open-browser';

// Opening the browser without the token on a command line (which any local user can read):
// the opener is given the path of a private redirect page. tests/e2e/cli-open.test.ts runs
// `poolscope web` with a stand-in xdg-open and follows the page in Chromium.

const URL_WITH_TOKEN = 'http://127.0.0.1:4000/#token=SECRET_token-123';
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('opening the browser', () => {
  it('gives every platform opener the page file alone', () => {
    const file = '/tmp/poolscope-open-x/open.html';
    expect(openerCommand('linux', file)).toEqual(['xdg-open', [file]]);
    expect(openerCommand('darwin', file)).toEqual(['open', [file]]);
    expect(openerCommand('win32', file)).toEqual(['cmd', ['/c', 'start', '""', `"${file}"`]]);
  });

  it('starts the opener with a 0600 page in a 0700 directory, and no token in its arguments', async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), 'poolscope-opener-'));
    dirs.push(out);
    const record = path.join(out, 'record.json');
    const recorder = path.join(out, 'opener.mjs');
    // A real process in the opener's place: it writes down its command line and what it was given.
    writeFileSync(
      recorder,
      `import { readFileSync, statSync, writeFileSync } from 'node:fs';
       import path from 'node:path';
       const file = process.argv[2];
       writeFileSync(${JSON.stringify(record)}, JSON.stringify({
         cmdline: readFileSync('/proc/self/cmdline', 'utf8'),
         page: readFileSync(file, 'utf8'),
         fileMode: statSync(file).mode & 0o777,
         dirMode: statSync(path.dirname(file)).mode & 0o777,
       }));`,
    );
    const opened = openBrowser(URL_WITH_TOKEN, { opener: (file) => [process.execPath, [recorder, file]] });
    expect(opened).not.toBeNull();
    await expect.poll(() => existsSync(record), { timeout: 10_000 }).toBe(true);
    const seen = JSON.parse(readFileSync(record, 'utf8')) as { cmdline: string; page: string; fileMode: number; dirMode: number };
    expect(seen.cmdline).toContain(opened!.file);
    expect(seen.cmdline).not.toContain('SECRET');
    expect(seen.page).toContain(`content="0;url=${URL_WITH_TOKEN}"`);
    expect(seen.fileMode).toBe(0o600);
    expect(seen.dirMode).toBe(0o700);
    opened!.remove();
    expect(existsSync(path.dirname(opened!.file))).toBe(false);
  });

  it('removes the page after a while on its own', async () => {
    const opened = openBrowser(URL_WITH_TOKEN, { opener: () => ['true', []], keepMs: 50 });
    expect(statSync(opened!.file).isFile()).toBe(true);
    await expect.poll(() => existsSync(path.dirname(opened!.file)), { timeout: 2_000 }).toBe(false);
  });

  it('and at exit', () => {
    const script = `import { openBrowser } from ${JSON.stringify(path.resolve('main/web/open-browser.ts'))};
      console.log(openBrowser('http://127.0.0.1:4000/#token=x', { opener: () => ['true', []] }).file);`;
    const file = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
    expect(file).toMatch(/open\.html$/);
    expect(existsSync(path.dirname(file))).toBe(false);
  });

  it('escapes the URL in the page', () => {
    expect(redirectPage('http://x/#token=a"b<c>&')).toContain('url=http://x/#token=a&#34;b&#60;c&#62;&#38;"');
  });
});
