// Errors a person reads: what failed and what to check. Every message goes through
// scrub() so that a password never reaches an event, a log line or the screen.

export type ErrorCode =
  | 'bad-target'
  | 'unknown-engine'
  | 'host-not-found'
  | 'connection-refused'
  | 'connect-timeout'
  | 'auth-failed'
  | 'unknown-database'
  | 'too-many-connections'
  | 'server-unavailable'
  | 'connection-lost'
  | 'acquire-timeout'
  | 'pool-ended'
  | 'pool-refused'
  | 'lease-ended'
  | 'server-error'
  | 'embedded-failed'
  | 'no-fault-proxy'
  | 'not-ours'
  | 'not-embedded'
  | 'bad-scenario'
  | 'no-scenario'
  | 'recording'
  | 'needs-confirmation';

export class PoolscopeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PoolscopeError';
    this.code = code;
  }
}

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/)([^:/@\s]*):([^@\s]*)@/gi;

/** `postgres://u:secret@h/db` → `postgres://u:***@h/db`, wherever it appears in a text. */
export function redactUrls(text: string): string {
  return text.includes('://') ? text.replace(URL_CREDENTIALS, '$1$2:***@') : text;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type Scrubber = (text: string) => string;

/**
 * A function that removes URL credentials and, when known, the password itself from a
 * text. Built once per target: it runs on every statement shown.
 */
export function scrubber(password?: string | null): Scrubber {
  if (!password) return redactUrls;
  // A short password could match inside ordinary words; replace it only as a whole token.
  const pattern =
    password.length >= 4
      ? new RegExp(escapeRegExp(password), 'g')
      : new RegExp(`(?<![\\w])${escapeRegExp(password)}(?![\\w])`, 'g');
  return (text) => {
    const out = redactUrls(text);
    return out.includes(password) ? out.replace(pattern, '***') : out;
  };
}

export function scrub(text: string, password?: string | null): string {
  return scrubber(password)(text);
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}
