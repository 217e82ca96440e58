import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A fresh secret per run: 24 random bytes, base64url (32 characters, URL-safe). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The token check, constant time whatever the candidate: both sides are hashed to the same length first. */
export function tokenCheck(token: string): (candidate: unknown) => boolean {
  const expected = digest(token);
  return (candidate) => typeof candidate === 'string' && candidate.length > 0 && timingSafeEqual(digest(candidate), expected);
}

/**
 * Who may reach the browser host: requests to 127.0.0.1:PORT or localhost:PORT (any other
 * Host header is a DNS-rebinding page), and WebSockets from the page's own origin or from a
 * client that sends no Origin (not a browser). The token is checked on the socket itself
 * (its first message, see SocketHub); there is no cookie: browsers send cookies to every
 * port of a host, so another local server would receive it.
 */
export class Gate {
  readonly port: number;
  readonly #hosts: Set<string>;

  constructor(port: number) {
    this.port = port;
    this.#hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
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
}
