import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** How long the redirect page stays: long enough for a browser's cold start. */
const KEEP_MS = 60_000;
const PAGE = 'open.html';

/** The command that opens `file` in the default browser on `platform`, with its arguments. */
export function openerCommand(platform: NodeJS.Platform, file: string): [string, string[]] {
  if (platform === 'darwin') return ['open', [file]];
  // Passed verbatim (see openBrowser): start's first quoted argument is a window title.
  if (platform === 'win32') return ['cmd', ['/c', 'start', '""', `"${file}"`]];
  return ['xdg-open', [file]];
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A page that sends the browser on to `url` at once, with a link for a browser that does not. */
export function redirectPage(url: string): string {
  const u = escapeHtml(url);
  return `<!doctype html>\n<meta charset="utf-8">\n<meta http-equiv="refresh" content="0;url=${u}">\n<title>Poolscope</title>\n<p>Opening Poolscope… If nothing happens, <a href="${u}">open it here</a>.</p>\n`;
}

export interface OpenedPage {
  /** The redirect page the opener was given. */
  readonly file: string;
  /** Removes the page and its directory (also done after a minute and at exit). */
  remove(): void;
}

export interface OpenBrowserOptions {
  /** The command for a file (default: openerCommand on this platform). */
  opener?: (file: string) => [string, string[]];
  keepMs?: number;
}

/** Writes the redirect page in a new directory only we can enter; returns that directory, or null. */
function writePrivatePage(url: string): string | null {
  let dir: string | null = null;
  try {
    dir = mkdtempSync(path.join(os.tmpdir(), 'poolscope-open-')); // 0700
    writeFileSync(path.join(dir, PAGE), redirectPage(url), { mode: 0o600 });
    return dir;
  } catch {
    if (dir !== null) rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

/**
 * Opens `url` (which holds the token) in the default browser without putting it on a command
 * line, which any local user can read (ps, /proc/PID/cmdline). As Jupyter does, a page that
 * redirects to it is written to a private temp directory (0700, the file 0600) and the opener
 * is given that file's path. Null when the page cannot be written: like an opener that fails
 * to start, that only means the user opens the printed URL.
 */
export function openBrowser(url: string, opts: OpenBrowserOptions = {}): OpenedPage | null {
  const dir = writePrivatePage(url);
  if (dir === null) return null;
  const file = path.join(dir, PAGE);
  const remove = () => {
    clearTimeout(timer);
    process.off('exit', remove);
    rmSync(dir, { recursive: true, force: true });
  };
  const timer = setTimeout(remove, opts.keepMs ?? KEEP_MS).unref();
  process.once('exit', remove);
  const [command, args] = (opts.opener ?? ((f) => openerCommand(process.platform, f)))(file);
  try {
    const child = spawn(command, args, { detached: true, stdio: 'ignore', windowsVerbatimArguments: process.platform === 'win32' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // no opener installed: the printed URL is enough
  }
  return { file, remove };
}
