import type { EngineKind, TargetInfo, TlsSession } from './events';
import type { TlsMode } from './target-schema';

// How a target's connections are protected, in words: the target panel and the CLI's first
// line say the same thing. Every mode that does not verify the server says so in text.

/** A certificate this close to its end gets a warning. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

const MYSQL_MODE: Record<TlsMode, string> = {
  disable: 'DISABLED',
  allow: 'allow',
  prefer: 'PREFERRED',
  require: 'REQUIRED',
  'verify-ca': 'VERIFY_CA',
  'verify-full': 'VERIFY_IDENTITY',
};

/** The mode as the engine's own clients spell it: sslmode=verify-full, ssl-mode=VERIFY_IDENTITY. */
export function modeName(engine: EngineKind, mode: TlsMode): string {
  return engine === 'postgres' ? `sslmode=${mode}` : `ssl-mode=${MYSQL_MODE[mode]}`;
}

/** `2027-03-01` (UTC). */
function day(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** The first CN of a subject line, else the whole line. */
function commonName(subject: string): string {
  const cn = /(?:^|,\s*)CN=([^,]+)/.exec(subject);
  return cn ? `CN=${cn[1]}` : subject;
}

export interface Protection {
  /** One line: `TLS verified: TLSv1.3, CN=db.example.com, expires 2027-03-01`, or what is NOT verified. */
  tls: string;
  /** The server's identity is checked (verify-full) or at least its CA (verify-ca). */
  verified: boolean;
  /** The certificate expires within 14 days, or has; else null. */
  expiry: string | null;
  /** `SSH tunnel: root@bastion:22, host key SHA256:…`, or null without SSH. */
  ssh: string | null;
}

export function protection(target: TargetInfo, session: TlsSession | null, now: number): Protection {
  const t = target.tls;
  const asked = modeName(target.engine, t.mode);
  let tls: string;
  if (t.use === 'off') {
    const why = t.mode === 'prefer' ? `: the server offers no TLS (${asked})` : t.mode === 'allow' ? ` (${asked}: the server accepted plaintext)` : ` (${asked})`;
    tls = `TLS: off, NOT encrypted, server NOT verified${why}`;
  } else if (t.use === 'encrypt') {
    tls = `TLS: encrypted, server NOT verified (${asked})${session?.protocol ? `, ${session.protocol}` : ''}`;
  } else {
    const head = t.use === 'verify-full' ? 'TLS verified' : 'TLS verified (CA only: host name NOT checked)';
    const details = session ? [session.protocol, commonName(session.subject), `issued by ${commonName(session.issuer)}`, `expires ${day(session.validTo)}`].filter(Boolean) : ['certificate not read yet'];
    tls = `${head}: ${details.join(', ')}`;
  }
  let expiry: string | null = null;
  if (session && t.use !== 'off') {
    const left = session.validTo - now;
    if (left <= 0) expiry = `The server's certificate expired on ${day(session.validTo)}.`;
    else if (left <= EXPIRY_WARNING_DAYS * DAY_MS) expiry = `The server's certificate expires in ${Math.ceil(left / DAY_MS)} day${left > DAY_MS ? 's' : ''} (${day(session.validTo)}).`;
  }
  const s = target.ssh;
  const ssh = s ? `SSH tunnel: ${s.user}@${s.host}:${s.port}${s.fingerprint ? `, host key ${s.fingerprint}` : ''}` : null;
  return { tls, verified: t.use === 'verify-ca' || t.use === 'verify-full', expiry, ssh };
}

/** The CLI's line: TLS, then the expiry warning and the tunnel when there are. */
export function protectionLine(target: TargetInfo, session: TlsSession | null, now: number): string {
  const p = protection(target, session, now);
  return [p.tls, p.expiry, p.ssh].filter(Boolean).join('; ');
}
