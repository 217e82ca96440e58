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
  | 'cancelled'
  | 'pool-ended'
  | 'pool-in-use'
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
  | 'tls-failed'
  | 'tls-unsupported'
  | 'tls-required'
  | 'ssh-failed'
  | 'ssh-host-key-unknown'
  | 'ssh-host-key-changed'
  | 'needs-confirmation';

export class PoolscopeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'PoolscopeError';
    this.code = code;
  }
}

// A password can reach a text in three shapes: in a URL's userinfo (well formed or not: a
// space, an unencoded @ or /, no // after the scheme), as a parameter (`?password=`,
// `sslpassword=`), or as itself (the target's password, known to the scrubber). Masking
// happens before a text is cut, so no prefix of a secret is left at a cut either.

/** A parameter whose value is a secret: password, sslpassword, passwd, pwd, a token... */
const SECRET_PARAM = String.raw`[\w.-]*(?:pass(?:word|wd)?|pwd|secret|token)[\w.-]*`;
const PARAM_IN_TEXT = new RegExp(String.raw`(\b${SECRET_PARAM}\s*=\s*)("[^"]*"?|'[^']*'?|[^\s&;,)]+)`, 'gi');
/** In a target: the value runs to the next parameter (it may hold spaces). */
const PARAM_IN_TARGET = new RegExp(String.raw`([?&;]\s*${SECRET_PARAM}\s*=)[^&#]*`, 'gi');

/** A scheme with `//`, or a database scheme without it (`postgres:user:pw@host`). */
const SCHEME = String.raw`\b[a-z][a-z0-9+.-]*:\/\/|\b(?:postgres(?:ql)?|mysql|mariadb):(?!\/\/)`;
/**
 * Userinfo in a text: anything after the scheme up to the `@` before a host (with its port, if any,
 * it ends the text or is followed by a path, a query, a quote or a space). Lazy, so the first such
 * host ends it: `u:p@ss@host/db` masks `p@ss`.
 */
const USERINFO_IN_TEXT = new RegExp(String.raw`(${SCHEME})([\s\S]{0,256}?)@(?=(?:[\w.%:[\]-]*[\w\]])?(?:[/?#\s"'\`),;]|$))`, 'gi');
/** `scheme://user:secret` with no host after it: a port would be digits. */
const NO_HOST_IN_TEXT = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/?#@[\]]*:)(?!\d*(?:[/?#\s"'`),;]|$))[^\s/?#@]+(?=[\s"'`),;]|$)/gi;
/** A user name worth keeping in front of a masked password: no space, no delimiter. */
const PLAIN_USER = /^[^\s:/?#@[\]"'`]*$/;

/** `user:secret` → `user:***`; a user alone is kept; anything odd is masked whole. */
function maskUserinfo(userinfo: string): string {
  const colon = userinfo.indexOf(':');
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  if (!PLAIN_USER.test(user)) return '***';
  return colon < 0 ? user : `${user}:***`;
}

/**
 * Masks URL credentials and secret parameters wherever they stand in a text:
 * `failed: postgres://u:secret@h/db` → `failed: postgres://u:***@h/db`. For a text that is a
 * target as typed, maskTarget() knows where it ends and does better.
 */
export function redactUrls(text: string): string {
  return text
    .replace(USERINFO_IN_TEXT, (_m, scheme: string, userinfo: string) => `${scheme}${maskUserinfo(userinfo)}@`)
    .replace(NO_HOST_IN_TEXT, '$1***')
    .replace(PARAM_IN_TEXT, '$1***');
}

/**
 * A target as the user typed it (well formed or not), to show in a message: no password.
 * Where it parses as a URL with a host, it is rebuilt from its parts with the password and
 * secret parameters masked; where it does not (or a part the parser saw holds an `@`, so the
 * userinfo did not end where the parser thought), everything after the scheme up to the
 * last `@` is treated as userinfo.
 */
export function maskTarget(raw: string): string {
  const text = raw.trim();
  try {
    const u = new URL(text);
    if (u.host !== '' && !`${u.pathname}${u.search}${u.hash}`.includes('@')) {
      const userinfo = u.username === '' && u.password === '' ? '' : `${maskUserinfo(u.username)}${u.password === '' ? '' : ':***'}@`;
      return `${u.protocol}//${userinfo}${u.host}${u.pathname}${u.search.replace(PARAM_IN_TARGET, '$1***')}${u.hash ? '#…' : ''}`;
    }
  } catch {
    // not a URL: by pattern below
  }
  // A word and a colon is a scheme only with `//` or as a database's: `user:pw@host` is userinfo.
  const m = /^([a-z][a-z0-9+.-]*:\/\/|(?:postgres(?:ql)?|mysql|mariadb):)?([\s\S]*)$/i.exec(text) as RegExpExecArray;
  const scheme = m[1] ?? '';
  let rest = m[2] ?? '';
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = `${maskUserinfo(rest.slice(0, at))}${rest.slice(at)}`;
  else rest = rest.replace(/^([^/?#[\]:]*):([^/?#]*\D[^/?#]*)/, '$1:***'); // `user:secret` with no host: not a port
  return `${scheme}${rest.replace(PARAM_IN_TARGET, '$1***')}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export type Scrubber = (text: string) => string;

/**
 * A function that removes URL credentials and, when known, the password itself (as typed,
 * and percent-encoded as a URL holds it) from a text. Built once per target: it runs on
 * every statement shown.
 */
export function scrubber(password?: string | null): Scrubber {
  if (!password) return redactUrls;
  const forms = [...new Set([password, encodeURIComponent(password)])].sort((a, b) => b.length - a.length);
  const alternatives = forms.map(escapeRegExp).join('|');
  // A short password could match inside ordinary words; replace it only as a whole token.
  const pattern = password.length >= 4 ? new RegExp(alternatives, 'g') : new RegExp(`(?<![\\w])(?:${alternatives})(?![\\w])`, 'g');
  return (text) => {
    const out = redactUrls(text);
    return forms.some((f) => out.includes(f)) ? out.replace(pattern, '***') : out;
  };
}

export function scrub(text: string, password?: string | null): string {
  return scrubber(password)(text);
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

/** scrubber() for several secrets at once (a database password, an SSH key's passphrase, an SSH password). */
export function scrubberFor(secrets: readonly string[]): Scrubber {
  const each = secrets.filter((s) => s.length > 0).map((s) => scrubber(s));
  if (each.length === 0) return redactUrls;
  if (each.length === 1) return each[0] as Scrubber;
  return (text) => each.reduce((out, scrub) => scrub(out), text);
}
