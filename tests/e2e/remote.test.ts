import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { protection } from '../../shared/protection';
import { type TestSshd, startSshd } from '../integration/helpers/sshd';
import { type TlsPostgres, startTlsPostgres } from '../integration/helpers/tls-postgres';
import { type App, openApp } from './helpers/app';
import { chromiumAvailable } from './helpers/chromium-gate';
import { expectShownAsMeasured } from './helpers/shown-as-measured';
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

  it('a certificate 5 days from its end: the TLS line and the warning give the end the engine read; a fresh certificate clears the warning', async () => {
    const endOf = async (file: string) => Date.parse(new X509Certificate(await readFile(file)).validTo);
    const [soonEnd, freshEnd] = await Promise.all([endOf(certs.soon.cert), endOf(certs.server.cert)]);
    const day = (t: number) => new Date(t).toISOString().slice(0, 10);
    const verifyFull = tlsPg.url(`sslmode=verify-full&sslrootcert=${certs.ca}`);
    // What the engine read from the server's certificate, through the words the panel uses, and what the panel shows.
    const asMeasured = async () => {
      const s = app.service.engine.snapshot().snapshot;
      const pool = s.activePoolId === null ? undefined : s.pools[s.activePoolId];
      const p = pool ? protection(pool.target, pool.tlsSession, Date.now()) : null;
      const warning = page.getByTestId('target-tls-expiry');
      return {
        engine: p && { tls: p.tls, expiry: p.expiry },
        shown: {
          tls: (await tls().evaluate((el) => el.firstChild?.textContent ?? '', undefined, { timeout: 5_000 })).trim(),
          expiry: (await warning.count()) === 0 ? null : await warning.textContent({ timeout: 5_000 }),
        },
      };
    };
    await tlsPg.present(certs.soon);
    onTestFinished(() => tlsPg.present(certs.server));
    await connectUrl(verifyFull);
    await expectShownAsMeasured(asMeasured, { timeout: 10_000, ready: (engine) => engine?.tls.endsWith(`expires ${day(soonEnd)}`) === true });
    // Made with `-days 5` at the run's start: the words are checked here, not only copied from the engine.
    expect(await page.getByTestId('target-tls-expiry').textContent()).toBe(`The server's certificate expires in 5 days (${day(soonEnd)}).`);
    expect(await tls().textContent()).toContain(`, expires ${day(soonEnd)}`);

    await tlsPg.present(certs.server);
    await connectUrl(tlsPg.url(`sslmode=verify-full&sslrootcert=${certs.ca}&application_name=fresh`));
    await expectShownAsMeasured(asMeasured, { timeout: 10_000, ready: (engine) => engine?.tls.endsWith(`expires ${day(freshEnd)}`) === true });
    expect(await page.getByTestId('target-tls-expiry').count()).toBe(0);
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
