import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { PoolSettingsInput, SavedTarget, TargetSecrets } from '../../shared/api';
import type { TargetFields } from '../../shared/target-schema';
import { PoolscopeError, messageOf } from './errors';
import { type TargetSpec, parseTargetFields, specToFields, targetInfo } from './target-spec';

/**
 * Keeps secrets for saved targets, or says why it cannot. The desktop app's box is
 * Electron's safeStorage (the OS keychain); the browser host has none: it never stores
 * a secret and asks for them at connect time.
 */
export interface SecretBox {
  /** null when secrets can be kept safely; otherwise why not, for the user. */
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

type SecretName = keyof TargetSecrets;

/** A profile as stored: the target without its secrets, the secrets sealed by the box. */
interface Stored {
  id: string;
  name: string;
  target: TargetFields;
  settings: PoolSettingsInput | null;
  sealed: Partial<Record<SecretName, string>>;
}

/** How a profile was stored before TLS modes and SSH (tls: boolean, one sealed password). */
interface StoredV1 {
  id: string;
  name: string;
  spec: Omit<TargetFields, 'tls' | 'ssh'> & { tls: boolean };
  sealedPassword: string | null;
}

function upgraded(s: Stored | StoredV1): Stored {
  if ('target' in s) return s;
  const { tls, ...rest } = s.spec;
  // tls: true connected encrypted without verifying: the same, said now as sslmode=require.
  const target: TargetFields = { ...rest, ...(tls ? { tls: { mode: 'require' as const } } : {}) };
  return { id: s.id, name: s.name, target, settings: null, sealed: s.sealedPassword ? { password: s.sealedPassword } : {} };
}

const SECRET_OF: Record<SecretName, (spec: TargetSpec) => string | null> = {
  password: (s) => s.password,
  passphrase: (s) => s.ssh?.passphrase ?? null,
  sshPassword: (s) => s.ssh?.password ?? null,
};

const SECRET_WORDS: Record<SecretName, string> = { password: 'password', passphrase: 'SSH key passphrase', sshPassword: 'SSH password' };

/** Where the browser host and the CLI keep saved targets: $XDG_CONFIG_HOME/poolscope. */
export function defaultSavedTargetsFile(): string {
  const base = process.env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'poolscope', 'saved-targets.json');
}

/** Saved connection profiles in one JSON file, written atomically; secrets only sealed by the box. */
export class SavedTargets {
  readonly #file: string;
  readonly #box: SecretBox;

  constructor(file: string, box: SecretBox) {
    this.#file = file;
    this.#box = box;
  }

  async list(): Promise<SavedTarget[]> {
    return (await this.#read()).map((s) => {
      const spec = parseTargetFields(s.target);
      return {
        id: s.id,
        name: s.name,
        display: targetInfo(spec).display,
        target: s.target,
        settings: s.settings,
        hasPassword: s.sealed.password !== undefined,
        kept: Object.keys(s.sealed) as SecretName[],
      };
    });
  }

  /** Saves the profile; each secret only when the box can keep it safely (the note says when not). */
  async save(name: string, spec: TargetSpec, settings: PoolSettingsInput | null = null): Promise<{ saved: SavedTarget; note: string | null }> {
    const given = (Object.keys(SECRET_OF) as SecretName[]).filter((k) => SECRET_OF[k](spec));
    const why = given.length > 0 ? this.#box.unavailable() : null;
    const sealed: Stored['sealed'] = {};
    if (why === null) for (const k of given) sealed[k] = this.#box.seal(SECRET_OF[k](spec) as string);
    const stored: Stored = { id: randomUUID(), name, target: specToFields(spec, { secrets: false }), settings, sealed };
    await this.#write([...(await this.#read()), stored]);
    const saved = (await this.list()).find((s) => s.id === stored.id) as SavedTarget;
    return { saved, note: why === null ? null : `Saved without its ${given.map((k) => SECRET_WORDS[k]).join(' and ')}: ${why}.` };
  }

  async remove(id: string): Promise<void> {
    const all = await this.#read();
    if (!all.some((s) => s.id === id)) throw new PoolscopeError('bad-target', 'There is no saved target with that id.');
    await this.#write(all.filter((s) => s.id !== id));
  }

  /** The saved profile as a spec and its pool settings; a secret given now wins over a saved one. */
  async spec(id: string, given: TargetSecrets = {}): Promise<{ spec: TargetSpec; settings: PoolSettingsInput | null }> {
    const s = (await this.#read()).find((x) => x.id === id);
    if (!s) throw new PoolscopeError('bad-target', 'There is no saved target with that id.');
    const secret = (k: SecretName): string | undefined => {
      if (given[k] !== undefined) return given[k];
      const sealed = s.sealed[k];
      if (sealed === undefined) return undefined;
      try {
        return this.#box.open(sealed);
      } catch (err) {
        throw new PoolscopeError('bad-target', `The saved ${SECRET_WORDS[k]} of "${s.name}" cannot be read (${messageOf(err)}); enter it again.`);
      }
    };
    const password = secret('password');
    const passphrase = secret('passphrase');
    const sshPassword = secret('sshPassword');
    const target: TargetFields = {
      ...s.target,
      ...(password === undefined ? {} : { password }),
      ...(s.target.ssh
        ? { ssh: { ...s.target.ssh, ...(passphrase === undefined ? {} : { passphrase }), ...(sshPassword === undefined ? {} : { password: sshPassword }) } }
        : {}),
    };
    return { spec: parseTargetFields(target), settings: s.settings };
  }

  async #read(): Promise<Stored[]> {
    try {
      return (JSON.parse(await readFile(this.#file, 'utf8')) as (Stored | StoredV1)[]).map(upgraded);
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
