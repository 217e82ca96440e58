import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SavedTarget } from '../../shared/api';
import { PoolscopeError, messageOf } from './errors';
import { type TargetSpec, targetInfo } from './target-spec';

/**
 * Keeps passwords for saved targets, or says why it cannot. The desktop app's box is
 * Electron's safeStorage (the OS keychain); the browser host has none: it never stores
 * a password.
 */
export interface SecretBox {
  /** null when passwords can be kept safely; otherwise why not, for the user. */
  unavailable(): string | null;
  seal(secret: string): string;
  open(sealed: string): string;
}

export const NO_SECRET_BOX: SecretBox = {
  unavailable: () => 'the browser host never stores passwords; enter it when you connect',
  seal: () => {
    throw new Error('no secret box');
  },
  open: () => {
    throw new Error('no secret box');
  },
};

interface Stored {
  id: string;
  name: string;
  spec: Omit<TargetSpec, 'password' | 'embedded'>;
  sealedPassword: string | null;
}

/** Where the browser host and the CLI keep saved targets: $XDG_CONFIG_HOME/poolscope. */
export function defaultSavedTargetsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'poolscope', 'saved-targets.json');
}

/** Saved targets in one JSON file, written atomically; passwords only sealed by the box. */
export class SavedTargets {
  readonly #file: string;
  readonly #box: SecretBox;

  constructor(file: string, box: SecretBox) {
    this.#file = file;
    this.#box = box;
  }

  async list(): Promise<SavedTarget[]> {
    return (await this.#read()).map((s) => ({
      id: s.id,
      name: s.name,
      display: targetInfo({ ...s.spec, password: null, embedded: false }).display,
      hasPassword: s.sealedPassword !== null,
    }));
  }

  /** Saves the target; its password only when the box can keep it safely. */
  async save(name: string, spec: TargetSpec): Promise<{ saved: SavedTarget; note: string | null }> {
    const why = spec.password ? this.#box.unavailable() : null;
    const { password, embedded: _embedded, ...rest } = spec;
    const stored: Stored = { id: randomUUID(), name, spec: rest, sealedPassword: password && why === null ? this.#box.seal(password) : null };
    await this.#write([...(await this.#read()), stored]);
    const saved = (await this.list()).find((s) => s.id === stored.id) as SavedTarget;
    return { saved, note: why === null ? null : `Saved without its password: ${why}.` };
  }

  async remove(id: string): Promise<void> {
    const all = await this.#read();
    if (!all.some((s) => s.id === id)) throw new PoolscopeError('bad-target', 'There is no saved target with that id.');
    await this.#write(all.filter((s) => s.id !== id));
  }

  /** The saved target as a spec; `password` given now wins over the saved one. */
  async spec(id: string, password?: string): Promise<TargetSpec> {
    const s = (await this.#read()).find((x) => x.id === id);
    if (!s) throw new PoolscopeError('bad-target', 'There is no saved target with that id.');
    let saved: string | null = null;
    if (password === undefined && s.sealedPassword !== null) {
      try {
        saved = this.#box.open(s.sealedPassword);
      } catch (err) {
        throw new PoolscopeError('bad-target', `The saved password of "${s.name}" cannot be read (${messageOf(err)}); enter it again.`);
      }
    }
    return { ...s.spec, password: password ?? saved, embedded: false };
  }

  async #read(): Promise<Stored[]> {
    try {
      return JSON.parse(await readFile(this.#file, 'utf8')) as Stored[];
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return [];
      throw new PoolscopeError('bad-target', `Cannot read the saved targets in ${this.#file}: ${messageOf(err)}. Fix or delete that file.`);
    }
  }

  async #write(all: Stored[]): Promise<void> {
    await mkdir(path.dirname(this.#file), { recursive: true, mode: 0o700 });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(all, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, this.#file);
  }
}
