import { randomBytes } from 'node:crypto';
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** What Poolscope keeps in the embedded server's data dir. */
export interface DataDirLayout {
  root: string;
  /** PGDATA, created by initdb. */
  pgdata: string;
  /** The superuser password, 0600; never logged. */
  passwordFile: string;
  /** The demo role's password (the role the pools log in as), kept like the superuser's. */
  demoPasswordFile: string;
  /** Written only after the demo database was seeded: its absence means an interrupted first start. */
  marker: string;
}

export function layoutOf(root: string): DataDirLayout {
  return {
    root,
    pgdata: path.join(root, 'pgdata'),
    passwordFile: path.join(root, 'password'),
    demoPasswordFile: path.join(root, 'demo-password'),
    marker: path.join(root, '.poolscope-seeded'),
  };
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export function defaultDataDir(): string {
  return path.join(poolscopeBase(), 'embedded-pg');
}

/** Where Poolscope keeps its files: the embedded data dir and, as root, its copy of the PostgreSQL binaries. */
export function poolscopeBase(): string {
  return path.resolve(process.env.POOLSCOPE_DATA_DIR || defaultBase());
}

function defaultBase(): string {
  // As root, the server runs as the 'postgres' OS user, which cannot enter /root (mode 700).
  if (isRoot()) return '/var/tmp/poolscope';
  const home = os.homedir();
  if (process.platform === 'win32') {
    return path.join(process.env.LOCALAPPDATA || path.join(home, 'AppData', 'Local'), 'poolscope');
  }
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'poolscope');
  return path.join(process.env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'poolscope');
}

/**
 * Creates the data dir and makes it private. As root it stays root-owned but
 * traversable (0711) so the 'postgres' user can reach its PGDATA inside.
 */
export async function prepareDataDir(root: string): Promise<void> {
  try {
    await mkdir(root, { recursive: true });
  } catch (err) {
    throw new Error(`Could not create the embedded PostgreSQL data dir ${root}: ${(err as Error).message}. Check that its parent is writable, or set POOLSCOPE_DATA_DIR.`);
  }
  const st = await lstat(root);
  const uid = process.getuid?.();
  // A symlink or someone else's directory (e.g. planted in /var/tmp) must not receive our password.
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) {
    throw new Error(`The embedded PostgreSQL data dir ${root} is not a directory owned by the current user. Remove it or choose another one (POOLSCOPE_DATA_DIR).`);
  }
  if (process.platform === 'win32') return;
  await chmod(root, isRoot() ? 0o711 : 0o700);
  if (isRoot()) await assertTraversableByOthers(root);
}

async function assertTraversableByOthers(root: string): Promise<void> {
  for (let dir = path.dirname(root); ; dir = path.dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      throw new Error(`As root, PostgreSQL runs as the 'postgres' OS user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}). Choose a data dir outside it, e.g. POOLSCOPE_DATA_DIR=/var/tmp/poolscope.`);
    }
    if (dir === path.dirname(dir)) return;
  }
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(() => true, () => false);
}

/** A complete data dir: initialised, seeded, with its password. */
export async function isComplete(layout: DataDirLayout): Promise<boolean> {
  const required = [layout.marker, layout.passwordFile, path.join(layout.pgdata, 'PG_VERSION')];
  return (await Promise.all(required.map(exists))).every(Boolean);
}

export async function hasLeftovers(layout: DataDirLayout): Promise<boolean> {
  return (await Promise.all([layout.pgdata, layout.passwordFile, layout.demoPasswordFile, layout.marker].map(exists))).some(Boolean);
}

const INITDB_PWFILE_PREFIX = '.initdb-pwfile-';

/** Removes only what Poolscope put there: the data dir may hold other files. */
export async function wipe(layout: DataDirLayout): Promise<void> {
  // A crash during initdb can leave its password copy behind.
  const pwfiles = (await readdir(layout.root)).filter((name) => name.startsWith(INITDB_PWFILE_PREFIX));
  for (const entry of [layout.marker, layout.passwordFile, layout.demoPasswordFile, layout.pgdata, ...pwfiles.map((name) => path.join(layout.root, name))]) {
    await rm(entry, { recursive: true, force: true });
  }
}

/** A new random password in `file` (layout.passwordFile or layout.demoPasswordFile). */
export async function createPassword(file: string): Promise<string> {
  const password = randomBytes(24).toString('base64url');
  // 'wx' refuses to follow a file or symlink planted in our place.
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  return password;
}

export async function readPassword(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).trim();
}

/** The password kept in `file`, or a new one when there is none (a data dir from before the file existed). */
export async function readOrCreatePassword(file: string): Promise<string> {
  return (await exists(file)) ? readPassword(file) : createPassword(file);
}

export async function writeMarker(layout: DataDirLayout): Promise<void> {
  await writeFile(layout.marker, `seeded ${new Date().toISOString()}\n`);
}

/**
 * initdb reads the password from a file: a short-lived copy with a random name
 * in the data dir, 0600 throughout. As root, initdb runs as 'postgres', so the
 * copy is handed to that user (chown) rather than opened to everyone.
 */
export function initdbPasswordFile(layout: DataDirLayout): string {
  return path.join(layout.root, `${INITDB_PWFILE_PREFIX}${randomBytes(16).toString('hex')}`);
}

export async function withInitdbPasswordFile(
  file: string,
  password: string,
  owner: { uid: number; gid: number } | undefined,
  fn: () => Promise<void>,
): Promise<void> {
  // 'wx' refuses a planted file or symlink; the mode is 0600 before the password is written.
  await writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  try {
    if (owner) await chown(file, owner.uid, owner.gid);
    await fn();
  } finally {
    await rm(file, { force: true });
  }
}
