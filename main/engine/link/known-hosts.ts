import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

// SSH host keys: the user's known_hosts (OpenSSH's format, read only) and Poolscope's own
// file of keys the user accepted here (same format, so either can be copied to the other).
// OpenSSH writes a host on a port other than 22 as [host]:port, and may hash the names.

/** `SHA256:` + unpadded base64, as ssh-keygen -l and OpenSSH's prompt print it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** The key type at the start of an SSH wire-format public key (ssh-ed25519, ecdsa-sha2-nistp256 …). */
export function keyTypeOf(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString('latin1');
}

/** The name OpenSSH looks a host up by. */
export function hostEntryName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export type HostKeyVerdict = { kind: 'known'; file: string } | { kind: 'changed'; file: string; line: number } | { kind: 'revoked'; file: string } | { kind: 'unknown' };

function globToRegExp(glob: string): RegExp {
  // Only * and ? are wildcards in OpenSSH's patterns: [host]:port is literal.
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
}

function hostMatches(patterns: string, name: string): boolean {
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('|1|')) {
      const [, , salt, hash] = p.split('|');
      if (salt && hash && createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash) matched = true;
    } else if (p.startsWith('!')) {
      if (globToRegExp(p.slice(1)).test(name)) return false;
    } else if (globToRegExp(p).test(name)) {
      matched = true;
    }
  }
  return matched;
}

/**
 * The verdict of one known_hosts text for a host and the key it presented: known (a line
 * holds this key), changed (lines hold other keys of its type and none this one), revoked,
 * or unknown. Keys of other types do not make a key "changed": the server may offer several.
 */
export function checkKnownHosts(text: string, file: string, host: string, port: number, key: Buffer): HostKeyVerdict {
  const name = hostEntryName(host, port);
  const type = keyTypeOf(key);
  const b64 = key.toString('base64');
  let changedAt: number | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === '' || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker: string | null = null;
    if (fields[0]?.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    const [patterns, lineType, lineKey] = fields;
    if (!patterns || !lineType || !lineKey || !hostMatches(patterns, name)) continue;
    if (marker === '@cert-authority') continue; // host certificates are not supported: such lines neither allow nor refuse
    if (marker === '@revoked') {
      if (lineKey === b64) return { kind: 'revoked', file };
      continue;
    }
    if (lineKey === b64) return { kind: 'known', file };
    if (lineType === type) changedAt ??= i + 1;
  }
  return changedAt === null ? { kind: 'unknown' } : { kind: 'changed', file, line: changedAt };
}

async function readIfThere(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return null;
    throw err;
  }
}

/** The user's known_hosts (read only) and Poolscope's own file of accepted keys. */
export class KnownHosts {
  readonly userFile: string | null;
  readonly ownFile: string;

  constructor(opts: { userFile: string | null; ownFile: string }) {
    this.userFile = opts.userFile;
    this.ownFile = opts.ownFile;
  }

  /** A revoked or changed key anywhere wins over a known one; then known; else unknown. */
  async check(host: string, port: number, key: Buffer): Promise<HostKeyVerdict> {
    const verdicts: HostKeyVerdict[] = [];
    for (const file of [this.userFile, this.ownFile]) {
      if (!file) continue;
      const text = await readIfThere(file);
      if (text !== null) verdicts.push(checkKnownHosts(text, file, host, port, key));
    }
    return verdicts.find((v) => v.kind === 'revoked') ?? verdicts.find((v) => v.kind === 'changed') ?? verdicts.find((v) => v.kind === 'known') ?? { kind: 'unknown' };
  }

  /** Remembers a key the user accepted, in Poolscope's own file (never the user's known_hosts). */
  async remember(host: string, port: number, key: Buffer): Promise<void> {
    await mkdir(path.dirname(this.ownFile), { recursive: true, mode: 0o700 });
    await appendFile(this.ownFile, `${hostEntryName(host, port)} ${keyTypeOf(key)} ${key.toString('base64')}\n`, { mode: 0o600 });
  }
}
