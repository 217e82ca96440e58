import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TargetFields } from '../../shared/target-schema';
import { Engine } from '../../main/engine/engine';
import { PoolscopeService } from '../../main/engine/service';
import { urlToFields } from '../../main/engine/target-spec';
import { Recorder } from './helpers/recorder';
import { ENGINES, mysqlUrl, pgUrl } from './helpers/servers';
import { KEY_PASSPHRASE, type TestSshd, startSshd } from './helpers/sshd';

let sshd: TestSshd;
let dir: string;
const started: { engine: Engine; service?: PoolscopeService }[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-ssh-it-'));
});

afterEach(async () => {
  for (const s of started.splice(0)) {
    await s.service?.stop();
    await s.engine.stop();
  }
});

afterAll(async () => {
  await sshd?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Known-hosts files of this test only: the user's and Poolscope's own. */
function knownHosts(name: string) {
  return { userFile: path.join(dir, `${name}.user`), ownFile: path.join(dir, `${name}.own`) };
}

function through(engine: 'postgres' | 'mysql', ssh: Partial<NonNullable<TargetFields['ssh']>> = {}): TargetFields {
  return { ...urlToFields(engine === 'postgres' ? pgUrl() : mysqlUrl), ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, auth: 'key', keyFile: sshd.key, ...ssh } };
}

async function start(target: TargetFields, files: ReturnType<typeof knownHosts>, service = false) {
  const engine = new Engine({ target, knownHosts: files, settings: { max: 4, acquireTimeoutMs: 5_000 } });
  const rec = new Recorder(engine);
  const entry: { engine: Engine; service?: PoolscopeService } = { engine };
  started.push(entry);
  await engine.start();
  if (service) entry.service = new PoolscopeService(engine);
  return { engine, rec, service: entry.service };
}

async function refused(target: TargetFields, files: ReturnType<typeof knownHosts>): Promise<{ code: string; message: string; hostKey?: { fingerprint: string } }> {
  const engine = new Engine({ target, knownHosts: files });
  started.push({ engine });
  const err = await engine.start().then(() => null, (e: unknown) => e);
  expect(err, 'the connection should have been refused').not.toBeNull();
  return err as { code: string; message: string; hostKey?: { fingerprint: string } };
}

describe.each(ENGINES)('an SSH tunnel to $engine', ({ engine: kind, skip }) => {
  it.skipIf(skip)('an unknown host key is refused with its fingerprint; accepted, it connects and is remembered in Poolscope’s own file only', async () => {
    const files = knownHosts(`accept-${kind}`);
    const err = await refused(through(kind), files);
    expect(err.code).toBe('ssh-host-key-unknown');
    expect(err.message).toContain(sshd.fingerprint);
    expect(err.hostKey?.fingerprint).toBe(sshd.fingerprint);

    const { engine, rec } = await start(through(kind, { hostKey: sshd.fingerprint }), files);
    expect(engine.pool.target.ssh?.fingerprint).toBe(sshd.fingerprint);
    await engine.pool.query('SELECT 1');
    const opened = rec.of('connection.opened');
    expect(opened.length).toBeGreaterThan(0);
    // The waterfall's SSH leg: the channel through the bastion, instead of a socket of ours.
    for (const o of opened) {
      expect(o.handshake.sshMs).toBeGreaterThan(0);
      expect(o.handshake.socketMs).toBe(0);
    }
    expect(await readFile(files.ownFile, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd.port} ssh-ed25519 `));
    await expect(readFile(files.userFile, 'utf8')).rejects.toThrow(/ENOENT/);
    await engine.stop();

    // Asked once: the next connect finds the key it accepted.
    const again = await start(through(kind), files);
    expect(again.engine.pool.target.ssh?.fingerprint).toBe(sshd.fingerprint);
  });

  it.skipIf(skip)('a host key other than the one accepted, or than known_hosts lists, is refused as changed', async () => {
    const pinned = await refused(through(kind, { hostKey: sshd.otherFingerprint }), knownHosts(`pinned-${kind}`));
    expect(pinned.code).toBe('ssh-host-key-changed');
    expect(pinned.message).toMatch(/has changed: it presented ssh-ed25519 SHA256:\S+, not SHA256:/);

    const files = knownHosts(`listed-${kind}`);
    // The user's known_hosts lists another ed25519 key for this host and port.
    await writeFile(files.userFile, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`);
    const listed = await refused(through(kind), files);
    expect(listed.code).toBe('ssh-host-key-changed');
    expect(listed.message).toContain(`${files.userFile} (line 1) holds another ssh-ed25519 key`);
  });

  it.skipIf(skip)('every connection goes through the tunnel: the pool, side pools, the monitor, terminate, and the fault proxy in front of the tunnel', async () => {
    const { engine, rec, service } = await start(through(kind, { hostKey: sshd.fingerprint }), knownHosts(`all-${kind}`), true);
    const observed = await rec.waitFor('server.observed', (e) => e.sessions.length > 0 && e.note?.includes('cannot read') !== true);
    expect(observed.monitorId).not.toBeNull();
    const side = engine.openSide({ max: 1 });
    await side.query('SELECT 1');
    await engine.endSide(side);
    await engine.setFaults({ latencyMs: 20 });
    expect(engine.log.live.faults.proxy?.upstream).toContain(`through SSH ${sshd.user}@127.0.0.1:${sshd.port}`);
    const lease = await engine.pool.borrow();
    const t0 = performance.now();
    const row = (await lease.query(kind === 'postgres' ? 'SELECT pg_backend_pid() AS id' : 'SELECT CONNECTION_ID() AS id')).rows[0] as { id: number };
    // Latency both ways: the statement went through the proxy.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(35);
    lease.release();
    await rec.waitFor('server.observed', (e) => e.sessions.some((s) => s.id === Number(row.id)));
    expect(await service?.handle('server.terminate', { serverId: Number(row.id) })).toEqual({ ok: true, res: null });
  });

  it.skipIf(skip)('a tunnel killed under load: borrowers get a clear error, the tunnel comes back, the recovery is measured, nothing hangs', async () => {
    const { engine, rec, service } = await start(through(kind, { hostKey: sshd.fingerprint }), knownHosts(`drop-${kind}`), true);
    expect(await service?.handle('load.start', { concurrency: 4, query: 'select1' })).toEqual({ ok: true, res: null });
    await rec.waitFor('load.stats', (e) => e.ok > 0);
    expect(await sshd.killSessions()).toBeGreaterThan(0);
    const down = await rec.waitFor('tunnel.changed', (e) => !e.up);
    expect(down.message).toMatch(/dropped .*Reconnecting/);
    await rec.waitFor('tunnel.changed', (e) => e.up && e.seq > down.seq, 15_000);
    const recovered = await rec.waitFor('fault.recovered', (e) => e.kind === 'tunnel', 30_000);
    expect(recovered.servedAt).not.toBeNull();
    expect(recovered.lost).toBeGreaterThan(0);
    expect(recovered.failures.some((f) => /SSH tunnel .* dropped/.test(f.message))).toBe(true);
    // The load goes on through the new tunnel.
    const before = engine.log.live.counters.acquired;
    await expect.poll(() => engine.log.live.counters.acquired, { timeout: 10_000 }).toBeGreaterThan(before + 10);
    expect(await service?.handle('load.stop', undefined)).toEqual({ ok: true, res: null });
  });
});

describe('SSH key authentication', () => {
  it('a key with a passphrase: refused without it, saying so; connects with it, and the passphrase is in no message', async () => {
    const files = knownHosts('passphrase');
    const without = await refused(through('postgres', { keyFile: sshd.keyWithPassphrase, hostKey: sshd.fingerprint }), files);
    expect(without.message).toBe(`The SSH key ${sshd.keyWithPassphrase} is protected by a passphrase: give it to connect.`);
    const wrong = await refused(through('postgres', { keyFile: sshd.keyWithPassphrase, passphrase: 'not it', hostKey: sshd.fingerprint }), files);
    expect(wrong.message).toBe(`The passphrase for the SSH key ${sshd.keyWithPassphrase} is wrong.`);
    const { engine, rec } = await start(through('postgres', { keyFile: sshd.keyWithPassphrase, passphrase: KEY_PASSPHRASE, hostKey: sshd.fingerprint }), files);
    await engine.pool.query('SELECT 1');
    expect(JSON.stringify(rec.events)).not.toContain(KEY_PASSPHRASE);
  });
});
