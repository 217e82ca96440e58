import { describe, expect, it } from 'vitest';
import { TOKEN_KEY, type PageHistory, type PageLocation, type TokenStorage, takePageToken } from '../../renderer/src/lib/transport/page-token';

// The page's side of the token: out of the address bar, into the tab's sessionStorage.
// The browser objects are stood in for by plain ones here; tests/e2e/token.test.ts runs the
// same code in Chromium (reload, another port, another tab).

class Tab {
  url: URL;
  readonly storage = new Map<string, string>();

  constructor(url: string) {
    this.url = new URL(url);
  }

  get location(): PageLocation {
    return { hash: this.url.hash, pathname: this.url.pathname, search: this.url.search };
  }

  readonly history: PageHistory = {
    state: { kept: true },
    replaceState: (data, _unused, url) => {
      expect(data).toEqual({ kept: true });
      if (url !== undefined) this.url = new URL(url, this.url);
    },
  };

  readonly store: TokenStorage = {
    getItem: (k) => this.storage.get(k) ?? null,
    setItem: (k, v) => void this.storage.set(k, v),
  };

  take(storage: TokenStorage | null = this.store): string | null {
    return takePageToken(this.location, this.history, storage);
  }
}

describe('the page token', () => {
  it('is taken from the fragment into the tab storage, and the address bar keeps no trace of it', () => {
    const tab = new Tab('http://127.0.0.1:4000/?x=1#token=abc_DEF-123');
    expect(tab.take()).toBe('abc_DEF-123');
    expect(tab.url.href).toBe('http://127.0.0.1:4000/?x=1');
    expect(tab.storage.get(TOKEN_KEY)).toBe('abc_DEF-123');
    // A reload of the same tab: no fragment, the stored token.
    expect(tab.take()).toBe('abc_DEF-123');
  });

  it('a newer printed URL replaces the stored token', () => {
    const tab = new Tab('http://127.0.0.1:4000/#token=old');
    tab.take();
    tab.url = new URL('http://127.0.0.1:4000/#token=new');
    expect(tab.take()).toBe('new');
    expect(tab.storage.get(TOKEN_KEY)).toBe('new');
  });

  it('is null without a fragment or a stored token, and an empty one does not count', () => {
    expect(new Tab('http://127.0.0.1:4000/').take()).toBeNull();
    const empty = new Tab('http://127.0.0.1:4000/#token=');
    expect(empty.take()).toBeNull();
    expect(empty.storage.size).toBe(0);
  });

  it('serves the page from memory where the storage refuses it', () => {
    const refusing: TokenStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
    };
    const tab = new Tab('http://127.0.0.1:4000/#token=abc');
    expect(tab.take(refusing)).toBe('abc');
    expect(tab.url.hash).toBe('');
    expect(tab.take(refusing)).toBeNull();
    expect(new Tab('http://127.0.0.1:4000/#token=abc').take(null)).toBe('abc');
  });
});
