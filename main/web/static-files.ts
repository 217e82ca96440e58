import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
};

export function contentType(file: string): string {
  return TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function inside(root: string, file: string): boolean {
  const rel = path.relative(root, file);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/**
 * The file a decoded URL path names under `root` (a real path), or null: `/` is
 * index.html; directories, dot-files, NUL bytes and anything that resolves (symbolic
 * links included) outside `root` are not served.
 */
export async function findFile(root: string, pathname: string): Promise<{ file: string; body: Buffer; type: string } | null> {
  if (pathname.includes('\0') || !pathname.startsWith('/')) return null;
  const wanted = pathname === '/' ? '/index.html' : pathname;
  if (wanted.endsWith('/') || wanted.split(/[/\\]/).some((seg) => seg.startsWith('.'))) return null;
  const file = path.resolve(root, wanted.slice(1));
  if (!inside(root, file)) return null;
  try {
    const real = await realpath(file);
    if (!inside(root, real) || !(await stat(real)).isFile()) return null;
    return { file: real, body: await readFile(real), type: contentType(real) };
  } catch {
    return null; // missing, unreadable or vanished between the calls: not found either way
  }
}
