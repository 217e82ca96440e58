import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../main/engine/engine';
import { NO_SECRET_BOX, SavedTargets, type SecretBox } from '../../main/engine/saved-targets';
import { PoolscopeService } from '../../main/engine/service';
import { pgUrl } from './helpers/servers';

/** A stand-in for safeStorage: seals by reversing and tagging, so the file never holds the clear text. */
const keychain: SecretBox = {
  unavailable: () => null,
  seal: (s) => `sealed:${[...s].reverse().join('')}`,
  open: (s) => [...s.replace(/^sealed:/, '')].reverse().join(''),
};

describe('saved targets', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-saved-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps a password only through the keychain, and connects with it', async () => {
    const file = path.join(dir, 'desktop.json');
    const service = new PoolscopeService(await Engine.start({ target: pgUrl() }), { saved: new SavedTargets(file, keychain) });
    try {
      const password = new URL(pgUrl()).password;
      const r = await service.handle('targets.save', { name: 'demo', target: { kind: 'url', url: pgUrl() } });
      expect(r).toMatchObject({ ok: true, res: { note: null, saved: { name: 'demo', hasPassword: true } } });
      const text = await readFile(file, 'utf8');
      expect(text).not.toContain(password);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const id = (r as { res: { saved: { id: string } } }).res.saved.id;
      expect(await service.handle('target.connect', { kind: 'saved', id })).toMatchObject({ ok: true, res: { engine: 'postgres' } });
      expect(JSON.stringify(await service.handle('targets.list', undefined))).not.toContain(password);
      expect(await service.handle('targets.remove', { id })).toEqual({ ok: true, res: null });
      expect(await service.handle('targets.list', undefined)).toEqual({ ok: true, res: [] });
    } finally {
      await service.stop();
    }
  });

  it('saves without the password where no safe keychain exists (the browser host), says so, and asks for it', async () => {
    const file = path.join(dir, 'browser.json');
    const service = new PoolscopeService(await Engine.start({ target: pgUrl() }), { saved: new SavedTargets(file, NO_SECRET_BOX) });
    try {
      const password = new URL(pgUrl()).password;
      const r = await service.handle('targets.save', { name: 'demo', target: { kind: 'url', url: pgUrl() } });
      expect(r).toMatchObject({ ok: true, res: { saved: { hasPassword: false }, note: expect.stringMatching(/Saved without its password: the browser host never stores passwords/) } });
      expect(await readFile(file, 'utf8')).not.toContain(password);
      const id = (r as { res: { saved: { id: string } } }).res.saved.id;
      expect(await service.handle('target.connect', { kind: 'saved', id })).toMatchObject({ ok: false, error: { code: 'auth-failed' } });
      expect(await service.handle('target.connect', { kind: 'saved', id, password })).toMatchObject({ ok: true });
    } finally {
      await service.stop();
    }
  });
});
