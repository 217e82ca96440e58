import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type TestSshd, startSshd } from '../integration/helpers/sshd';
import { type TlsPostgres, startTlsPostgres } from '../integration/helpers/tls-postgres';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { reveal } from './helpers/workspace';

describe.skipIf(!chromiumAvailable)('remote targets in Chromium: how a connection is protected, and the SSH host key prompt', () => {
  const certs = inject('certificates');
  let app: App;
  let page: Page;
  let tlsPg: TlsPostgres;
  let sshd: TestSshd;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-e2e-remote-'));
    [tlsPg, sshd] = await Promise.all([startTlsPostgres(certs), startSshd()]);
    app = await openApp({ settings: { max: 2 }, knownHosts: { userFile: null, ownFile: path.join(dir, 'known_hosts') } });
    ({ page } = app);
  });

  afterAll(async () => {
    await app?.close();
    await Promise.all([tlsPg?.stop(), sshd?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const connectUrl = async (url: string) => {
    await reveal(page, page.locator('#target-url'));
    await page.locator('#target-url').fill(url);
    await page.locator('#target-url').press('Enter');
  };
  const tls = () => page.getByTestId('target-tls');

  it('a require-mode target is shown as encrypted and NOT verified; verify-full shows the verified details', async () => {
    await connectUrl(tlsPg.url('sslmode=require'));
    await expect.poll(() => tls().textContent(), { timeout: 10_000 }).toMatch(/^\s*TLS: encrypted, server NOT verified \(sslmode=require\), TLSv1\.[23]\s*$/);
    expect(await tls().getAttribute('data-verified')).toBe('false');

    await connectUrl(tlsPg.url(`sslmode=verify-full&sslrootcert=${certs.ca}`));
    await expect.poll(() => tls().textContent(), { timeout: 10_000 }).toMatch(/TLS verified: TLSv1\.[23], CN=localhost, issued by CN=Poolscope Test CA, expires \d{4}-\d\d-\d\d/);
    expect(await tls().getAttribute('data-verified')).toBe('true');
    expect(await tls().textContent()).toContain(`CA ${certs.ca}`);
  });

  it('a refused certificate says why in the panel, and the pool keeps its target', async () => {
    await connectUrl(tlsPg.url(`sslmode=verify-full&sslrootcert=${certs.otherCa}`));
    await expect.poll(() => page.getByTestId('target-error').textContent(), { timeout: 10_000 }).toMatch(/not signed by a CA Poolscope trusts/);
    expect(await tls().textContent()).toMatch(/TLS verified: /);
  });

  it('through SSH: the unknown host key is shown with its fingerprint, and accepting it connects', async () => {
    await reveal(page, page.locator('#target-url'));
    await page.locator('#target-url').fill(inject('pgUrl'));
    await page.getByTestId('target-import-url').click();
    await expect.poll(() => page.getByTestId('target-host').inputValue(), { timeout: 5_000 }).toBe('127.0.0.1');
    await page.getByTestId('target-tls-mode').selectOption('disable');
    await page.getByTestId('target-ssh-on').check();
    await page.getByTestId('target-ssh-host').fill('127.0.0.1');
    await page.getByTestId('target-ssh-port').fill(String(sshd.port));
    await page.getByTestId('target-ssh-user').fill(sshd.user);
    await page.getByTestId('target-ssh-key').fill(sshd.key);
    await page.getByTestId('target-form-connect').click();
    const prompt = page.getByTestId('ssh-hostkey-prompt');
    await prompt.waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('ssh-hostkey-fingerprint').textContent()).toBe(sshd.fingerprint);
    await page.getByTestId('ssh-hostkey-accept').click();
    await expect.poll(() => page.getByTestId('target-ssh').textContent(), { timeout: 10_000 }).toContain(`SSH tunnel: ${sshd.user}@127.0.0.1:${sshd.port}, host key ${sshd.fingerprint}`);
    expect(await prompt.count()).toBe(0);
    // Plaintext through the tunnel still says so.
    expect(await tls().textContent()).toMatch(/TLS: off, NOT encrypted, server NOT verified \(sslmode=disable\)/);
  });
});
