import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What every refused request is told (page, assets and socket alike). */
export const NEEDS_TOKEN = 'Poolscope: this URL needs the token printed at start.\n';

/** A fresh secret per run: 24 random bytes, base64url (32 characters, cookie- and URL-safe). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may talk to the browser host: requests to 127.0.0.1:PORT or localhost:PORT (any other
 * Host header is a DNS-rebinding page) that carry the per-run token, in the query (the
 * printed URL, non-browser WebSocket clients) or in the cookie the page is given.
 */
export class Gate {
  readonly token: string;
  readonly port: number;
  /** Cookies are not scoped by port: the name carries it, so two hosts do not clobber each other. */
  readonly cookieName: string;
  readonly #digest: Buffer;
  readonly #hosts: Set<string>;

  constructor(token: string, port: number) {
    this.token = token;
    this.port = port;
    this.cookieName = `poolscope-${port}`;
    this.#digest = digest(token);
    this.#hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  }

  /** Constant time whatever the candidate: both sides are hashed to the same length first. */
  matches(candidate: string | null | undefined): boolean {
    if (typeof candidate !== 'string' || candidate.length === 0) return false;
    return timingSafeEqual(digest(candidate), this.#digest);
  }

  hostAllowed(host: string | undefined): boolean {
    return host !== undefined && this.#hosts.has(host.toLowerCase());
  }

  /** Browsers always send Origin on a WebSocket handshake: it must be the page's own. */
  originAllowed(headers: IncomingHttpHeaders): boolean {
    const origin = headers.origin;
    if (origin === undefined) return true;
    return this.hostAllowed(headers.host) && origin.toLowerCase() === `http://${headers.host?.toLowerCase()}`;
  }

  /** True when one of the request's cookies of our name holds the token. */
  cookieMatches(headers: IncomingHttpHeaders): boolean {
    const prefix = `${this.cookieName}=`;
    for (const part of (headers.cookie ?? '').split(';')) {
      const c = part.trim();
      if (c.startsWith(prefix) && this.matches(c.slice(prefix.length))) return true;
    }
    return false;
  }

  /** Session cookie for the page: not readable by scripts, never sent by other sites. */
  setCookie(): string {
    return `${this.cookieName}=${this.token}; HttpOnly; SameSite=Strict; Path=/`;
  }
}
