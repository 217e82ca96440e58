// The browser host's token, as the page holds it. Poolscope prints http://127.0.0.1:PORT/#token=…:
// browsers never send a fragment to any server, and sessionStorage belongs to this tab and
// this origin (scheme, host and port), so no other local server can read or receive it. A
// reload in the same tab keeps working; a new tab needs the printed URL again.

export const TOKEN_KEY = 'poolscope.token';

export interface PageLocation {
  readonly hash: string;
  readonly pathname: string;
  readonly search: string;
}

export interface PageHistory {
  readonly state: unknown;
  replaceState(data: unknown, unused: string, url?: string): void;
}

export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

/**
 * Takes the token out of the address bar (and the tab's history) into `storage`, and returns
 * the token this tab holds, or null. `storage` is null where the browser refuses it: the token
 * in the fragment still serves this page, not a reload.
 */
export function takePageToken(location: PageLocation, history: PageHistory, storage: TokenStorage | null): string | null {
  const fromUrl = new URLSearchParams(location.hash.slice(1)).get('token') || null;
  if (fromUrl !== null) {
    history.replaceState(history.state, '', `${location.pathname}${location.search}`);
    try {
      storage?.setItem(TOKEN_KEY, fromUrl);
    } catch {
      // storage full or refused: this page keeps the token in memory only
    }
    return fromUrl;
  }
  try {
    return storage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null;
  }
}
