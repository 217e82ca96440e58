import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkKnownHosts, fingerprintOf, hostEntryName } from '../../main/engine/link/known-hosts';

// An ed25519 public key in SSH wire format: string "ssh-ed25519", string 32 key bytes.
function ed25519(seed: number): Buffer {
  const type = Buffer.from('ssh-ed25519');
  const key = Buffer.alloc(32, seed);
  const len = (n: number) => Buffer.from([0, 0, 0, n]);
  return Buffer.concat([len(type.length), type, len(32), key]);
}

const KEY = ed25519(1);
const OTHER = ed25519(2);
const line = (host: string, key: Buffer, marker = '') => `${marker}${marker ? ' ' : ''}${host} ssh-ed25519 ${key.toString('base64')}`;

describe('known_hosts (OpenSSH format)', () => {
  it('names a host on another port [host]:port, and prints fingerprints as ssh-keygen does', () => {
    expect(hostEntryName('db.example', 22)).toBe('db.example');
    expect(hostEntryName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
    expect(fingerprintOf(KEY)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('finds a key by plain name, [host]:port, pattern and hashed name', () => {
    expect(checkKnownHosts(line('bastion,10.0.0.1', KEY), 'f', 'bastion', 22, KEY).kind).toBe('known');
    expect(checkKnownHosts(line('[127.0.0.1]:2222', KEY), 'f', '127.0.0.1', 2222, KEY).kind).toBe('known');
    // [127.0.0.1]:2222 is literal, not a character class matching "1".
    expect(checkKnownHosts(line('[127.0.0.1]:2222', KEY), 'f', '1', 22, KEY).kind).toBe('unknown');
    expect(checkKnownHosts(line('*.example.com,!evil.example.com', KEY), 'f', 'db.example.com', 22, KEY).kind).toBe('known');
    expect(checkKnownHosts(line('*.example.com,!evil.example.com', KEY), 'f', 'evil.example.com', 22, KEY).kind).toBe('unknown');
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[bastion]:2200').digest('base64')}`;
    expect(checkKnownHosts(line(hashed, KEY), 'f', 'bastion', 2200, KEY).kind).toBe('known');
    expect(checkKnownHosts(line(hashed, KEY), 'f', 'bastion', 22, KEY).kind).toBe('unknown');
  });

  it('says changed when the host is listed with another key of its type, with the line; revoked wins', () => {
    const text = ['# comment', '', line('bastion', OTHER)].join('\n');
    expect(checkKnownHosts(text, '/home/u/.ssh/known_hosts', 'bastion', 22, KEY)).toEqual({ kind: 'changed', file: '/home/u/.ssh/known_hosts', line: 3 });
    // Another type listed only: the server may hold several keys; not a change.
    expect(checkKnownHosts(`bastion ecdsa-sha2-nistp256 AAAA`, 'f', 'bastion', 22, KEY).kind).toBe('unknown');
    expect(checkKnownHosts([line('bastion', KEY, '@revoked'), line('bastion', KEY)].join('\n'), 'f', 'bastion', 22, KEY).kind).toBe('revoked');
    expect(checkKnownHosts(line('bastion', KEY, '@cert-authority'), 'f', 'bastion', 22, KEY).kind).toBe('unknown');
  });
});
