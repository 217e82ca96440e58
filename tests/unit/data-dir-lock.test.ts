import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirInUseError, lockDataDir } from '../../main/engine/embedded/data-dir-lock';

// The data dir's lock: one owner at a time, judged by whether the owner lives (its pid, and
// on Linux its start time, so a reused pid is not taken for it).

let dir: string;
const lockFile = () => path.join(dir, 'poolscope.lock');
const procStart = async (pid: number) => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
};

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('the data dir lock', () => {
  it('is taken once: a second taker in this process is refused until it is released', async () => {
    const lock = await lockDataDir(dir);
    expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
    await expect(lockDataDir(dir)).rejects.toThrow(`in use by another engine in this process (pid ${process.pid})`);
    await lock.release();
    expect(await readdir(dir)).toEqual([]);
    const again = await lockDataDir(dir);
    await again.release();
  });

  it('refuses while another live process holds it, naming its pid', async () => {
    const other = spawn('sleep', ['30']);
    try {
      const pid = other.pid as number;
      await writeFile(lockFile(), JSON.stringify({ pid, start: await procStart(pid), token: 'theirs', since: '2026-01-01T00:00:00.000Z' }));
      const err = await lockDataDir(dir).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(DataDirInUseError);
      expect((err as Error).message).toContain(`in use by another Poolscope (pid ${pid}, since 2026-01-01T00:00:00.000Z)`);
      expect((err as Error).message).toContain('POOLSCOPE_DATA_DIR=');
      expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ token: 'theirs' }); // left as it was
    } finally {
      other.kill();
    }
  });

  it('takes over a lock whose owner is gone, whose pid now belongs to another process, or that is not one of ours', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    const stale = [
      JSON.stringify({ pid: gone.pid, start: null, token: 'gone', since: '' }),
      // A live pid (ours) with another start time: the pid was reused.
      JSON.stringify({ pid: 1, start: 'not-the-start-of-pid-1', token: 'reused', since: '' }),
      'garbage',
    ];
    for (const content of stale) {
      await writeFile(lockFile(), content);
      const lock = await lockDataDir(dir);
      expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toMatchObject({ pid: process.pid });
      await lock.release();
      expect(await readdir(dir)).toEqual([]);
    }
  });

  it('two takers racing over a stale lock: exactly one gets it', async () => {
    await writeFile(lockFile(), 'garbage');
    const outcomes = await Promise.allSettled([lockDataDir(dir), lockDataDir(dir), lockDataDir(dir)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(DataDirInUseError);
    for (const o of outcomes) if (o.status === 'fulfilled') await o.value.release();
  });
});
