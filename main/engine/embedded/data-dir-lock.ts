import { randomBytes } from 'node:crypto';
import { link, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from './postmaster';

// One data dir, one Poolscope: a second process on the same dir used to find the first one's
// server, take it for a leftover of a crashed run and stop it. The server's owner now holds a
// lock file in the data dir naming its pid; a live owner's server is left alone and the second
// start is refused, saying which process holds it and how to run a second Poolscope
// (POOLSCOPE_DATA_DIR). Only a lock whose owner is gone is taken over.
//
// Refused rather than shared: a shared server has two owners, and each would stop or restart
// it under the other (quitting, "Restart database", a wipe after an interrupted first start).
//
// No well-kept npm library fits: proper-lockfile and lockfile judge a lock by its age (mtime),
// not by whether its owner lives, so a crashed owner's lock would hold for their stale time
// and a busy one's could be taken from it.

const FILE = 'poolscope.lock';
const ATTEMPTS = 5;

interface Owner {
  pid: number;
  /** The process's start time (Linux /proc clock ticks), so a reused pid is not taken for the owner; null where unknown. */
  start: string | null;
  /** Tells one holder from another (two engines of one process, a lock put back). */
  token: string;
  since: string;
}

/** Locks held by this process, by file: a second engine in this process is refused too. */
const heldHere = new Map<string, string>();

export class DataDirInUseError extends Error {}

export interface DataDirLock {
  /** Removes the lock file if it is still ours. */
  release(): Promise<void>;
}

/** The start time of a process, from /proc (Linux); null elsewhere or when it is gone. */
async function processStart(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // Fields after the command (which may hold spaces) start at ')': starttime is the 22nd field.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

async function readOwner(file: string): Promise<Owner | null | 'gone'> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? 'gone' : null));
  if (text === 'gone' || text === null) return text;
  try {
    const o = JSON.parse(text) as Partial<Owner>;
    return typeof o.pid === 'number' && typeof o.token === 'string' ? { pid: o.pid, start: o.start ?? null, token: o.token, since: String(o.since ?? '') } : null;
  } catch {
    return null; // not ours to read: stale
  }
}

async function ownerLives(file: string, o: Owner): Promise<boolean> {
  if (o.pid === process.pid) return heldHere.get(file) === o.token;
  if (!(await isAlive(o.pid))) return false;
  const now = o.start === null ? null : await processStart(o.pid);
  return now === null || now === o.start;
}

/** Writes the lock in one step: a complete temp file linked to the lock's name (link fails if it exists). */
async function tryCreate(file: string, owner: Owner): Promise<boolean> {
  const temp = `${file}.${process.pid}-${owner.token}`;
  await writeFile(temp, `${JSON.stringify(owner)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await link(temp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(temp, { force: true });
  }
}

function inUse(root: string, o: Owner): DataDirInUseError {
  const who = o.pid === process.pid ? `another engine in this process (pid ${o.pid})` : `another Poolscope (pid ${o.pid}${o.since ? `, since ${o.since}` : ''})`;
  return new DataDirInUseError(
    `The data dir ${root} is in use by ${who}, whose embedded PostgreSQL runs there; it is left alone. Use that Poolscope or quit it first, or give this one a data dir of its own: POOLSCOPE_DATA_DIR=/another/dir (or connect to a database with --target).`,
  );
}

/**
 * Takes the data dir for this process: atomically, or over a lock whose owner is gone.
 * Throws DataDirInUseError when a live Poolscope holds it.
 */
export async function lockDataDir(root: string): Promise<DataDirLock> {
  const file = path.join(root, FILE);
  const mine: Owner = { pid: process.pid, start: await processStart(process.pid), token: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (await tryCreate(file, mine)) {
      heldHere.set(file, mine.token);
      return { release: () => release(file, mine.token) };
    }
    const owner = await readOwner(file);
    if (owner === 'gone') continue; // released meanwhile
    if (owner !== null && (await ownerLives(file, owner))) throw inUse(root, owner);
    // Stale. Moved aside rather than removed: if another start took it over meanwhile, the
    // lock we moved is that one's, and it goes back.
    const aside = `${file}.stale-${process.pid}-${mine.token}`;
    try {
      await rename(file, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw err;
    }
    const moved = await readOwner(aside);
    if (moved !== null && moved !== 'gone' && moved.token !== owner?.token) await link(aside, file).catch(() => undefined);
    await rm(aside, { force: true });
  }
  throw new DataDirInUseError(`Could not take the data dir ${root}: other Poolscope processes are starting on it at the same time. Start one at a time, or give each its own data dir (POOLSCOPE_DATA_DIR).`);
}

async function release(file: string, token: string): Promise<void> {
  if (heldHere.get(file) !== token) return;
  heldHere.delete(file);
  const owner = await readOwner(file);
  if (owner !== null && owner !== 'gone' && owner.token === token) await rm(file, { force: true });
}
