import { realpathSync } from 'node:fs';
import { protocol, type Session } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { findFile } from '../web/static-files';

// The UI is served from app://poolscope/ rather than file:// (Electron security checklist,
// "use a custom protocol instead of file://"): the page gets a real origin of its own, so
// 'self' in the CSP means our built files and nothing else on the disk, and a page loaded
// from file:// could not reach the rest of the file system through it either.
//
// Privileges: standard (relative URLs and a proper origin) and secure (a secure context, like
// https). Deliberately not corsEnabled (it would let any origin read app:// responses, no
// Access-Control-Allow-Origin check), bypassCSP, supportFetchAPI or allowServiceWorkers: the
// page only loads its own module script, stylesheet and images, all same-origin.

export const APP_SCHEME = 'app';
export const APP_HOST = 'poolscope';
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/** Must run before the app is ready. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true } }]);
}

/** True for a URL of our own page (any path under app://poolscope/). */
export function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST;
  } catch {
    return false;
  }
}

// The same headers as the browser host sends, the CSP first: webRequest.onHeadersReceived does
// not reliably see responses of a custom protocol, so the policy travels with each response.
const HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

function plain(status: number, text: string): Response {
  return new Response(text, { status, headers: { ...HEADERS, 'Content-Type': 'text/plain; charset=utf-8' } });
}

/**
 * Serves the built renderer in `root` (out/renderer) on app://poolscope/ for `ses`. Only GET
 * and HEAD, only that host, and only files inside `root` (findFile refuses traversal, symbolic
 * links out of it, dot-files and directories). Throws when `root` does not exist (not built).
 */
export function serveApp(ses: Session, root: string): void {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch {
    throw new Error(`the UI is not built (${root} is missing): run npm run build first.`);
  }
  ses.protocol.handle(APP_SCHEME, async (request) => {
    try {
      const url = new URL(request.url);
      if (url.host !== APP_HOST) return plain(404, 'Not found');
      if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405, 'Method not allowed');
      let pathname: string;
      try {
        pathname = decodeURIComponent(url.pathname);
      } catch {
        return plain(400, 'Bad request');
      }
      const found = await findFile(realRoot, pathname);
      if (!found) return plain(404, 'Not found');
      const headers = { ...HEADERS, 'Content-Type': found.type };
      return new Response(request.method === 'HEAD' ? null : found.body, { status: 200, headers });
    } catch (err) {
      console.error(`poolscope: could not serve ${request.url}: ${err instanceof Error ? err.message : String(err)}`);
      return plain(500, 'Internal error');
    }
  });
}
