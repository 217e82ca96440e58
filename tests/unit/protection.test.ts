import { describe, expect, it } from 'vitest';
import type { TargetInfo, TlsSession, TlsUse } from '../../shared/events';
import { protection, protectionLine } from '../../shared/protection';
import type { TlsMode } from '../../shared/target-schema';

const DAY = 86_400_000;
const NOW = Date.parse('2027-01-01T00:00:00Z');

function target(engine: 'postgres' | 'mysql', mode: TlsMode, use: TlsUse, ssh = false): TargetInfo {
  return {
    engine,
    host: 'db.example.com',
    port: 5432,
    database: 'd',
    user: 'u',
    tls: { mode, use, ca: null, cert: null, key: null },
    ssh: ssh ? { host: 'bastion', port: 22, user: 'me', auth: 'key', keyFile: '/k', fingerprint: 'SHA256:abc' } : null,
    display: 'postgres://u@db.example.com:5432/d',
    embedded: false,
  };
}

const session = (validTo: number): TlsSession => ({ protocol: 'TLSv1.3', subject: 'CN=db.example.com, O=Acme', issuer: 'CN=Acme CA', altNames: 'DNS:db.example.com', validFrom: NOW - DAY, validTo });

describe('how a target is protected, in words', () => {
  it('says in text that unverified modes do not verify the server', () => {
    expect(protection(target('postgres', 'require', 'encrypt'), session(NOW + 100 * DAY), NOW).tls).toBe('TLS: encrypted, server NOT verified (sslmode=require), TLSv1.3');
    expect(protection(target('mysql', 'require', 'encrypt'), null, NOW).tls).toBe('TLS: encrypted, server NOT verified (ssl-mode=REQUIRED)');
    expect(protection(target('postgres', 'disable', 'off'), null, NOW)).toMatchObject({ tls: 'TLS: off, NOT encrypted, server NOT verified (sslmode=disable)', verified: false });
    expect(protection(target('mysql', 'prefer', 'off'), null, NOW).tls).toBe('TLS: off, NOT encrypted, server NOT verified: the server offers no TLS (ssl-mode=PREFERRED)');
    expect(protection(target('postgres', 'verify-ca', 'verify-ca'), session(NOW + 100 * DAY), NOW).tls).toMatch(/^TLS verified \(CA only: host name NOT checked\): /);
  });

  it('shows verified TLS with protocol, subject, issuer and expiry, and warns within 14 days', () => {
    const far = protection(target('postgres', 'verify-full', 'verify-full', true), session(Date.parse('2027-03-01T12:00:00Z')), NOW);
    expect(far).toEqual({ tls: 'TLS verified: TLSv1.3, CN=db.example.com, issued by CN=Acme CA, expires 2027-03-01', verified: true, expiry: null, ssh: 'SSH tunnel: me@bastion:22, host key SHA256:abc' });
    expect(protection(target('postgres', 'verify-full', 'verify-full'), session(NOW + 3 * DAY), NOW).expiry).toBe("The server's certificate expires in 3 days (2027-01-04).");
    expect(protection(target('postgres', 'verify-full', 'verify-full'), session(NOW + 15 * DAY), NOW).expiry).toBeNull();
    expect(protectionLine(target('postgres', 'verify-full', 'verify-full'), session(NOW + 3 * DAY), NOW)).toBe(
      "TLS verified: TLSv1.3, CN=db.example.com, issued by CN=Acme CA, expires 2027-01-04; The server's certificate expires in 3 days (2027-01-04).",
    );
  });
});
