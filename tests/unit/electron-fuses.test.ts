import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FuseV1Options, FuseVersion } from '@electron/fuses';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FUSES, applyFuses } from '../../scripts/electron-fuses';

// The fuse values Poolscope ships with (scripts/electron-fuses.ts), and the script that flips
// them. No Electron binary here: the script runs on a file holding a fuse wire laid out as
// Electron's (sentinel, version 1, length, one byte per fuse, '1' on / '0' off), with
// Electron 39's defaults. tests/e2e/electron.test.ts flips a copy of the real binary where one
// is installed.

const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
/** Electron's defaults: RunAsNode, NODE_OPTIONS, --inspect, file:// privileges and trap handlers on; cookie encryption and asar checks off. */
const DEFAULTS = '101100011';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'poolscope-fuses-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Electron fuses', () => {
  it('decide every fuse: no Node mode, no NODE_OPTIONS or --inspect, the app only from a checked asar, cookies encrypted', () => {
    expect(FUSES).toMatchObject({
      version: FuseVersion.V1,
      strictlyRequireAllFuses: true,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    });
    const options = Object.values(FuseV1Options).filter((v) => typeof v === 'number');
    expect(options.filter((o) => typeof (FUSES as Record<number, unknown>)[o] !== 'boolean')).toEqual([]);
  });

  it('the script flips a fuse wire and reads it back', async () => {
    const binary = path.join(dir, 'electron');
    const before = Buffer.concat([Buffer.alloc(4096, 0x2e), Buffer.from(SENTINEL), Buffer.from([1, DEFAULTS.length]), Buffer.from(DEFAULTS), Buffer.alloc(4096, 0x2e)]);
    await writeFile(binary, before);
    const seen = await applyFuses(binary);
    expect(seen).toMatchObject({ RunAsNode: false, EnableNodeOptionsEnvironmentVariable: false, EnableNodeCliInspectArguments: false, OnlyLoadAppFromAsar: true });
    const after = await readFile(binary);
    const at = after.indexOf(SENTINEL) + SENTINEL.length + 2;
    expect(after.subarray(at, at + DEFAULTS.length).toString()).toBe('010011001');
    expect(after.length).toBe(before.length);
  });

  it('refuses a binary whose wire has a fuse the config does not decide', async () => {
    const binary = path.join(dir, 'electron-next');
    await writeFile(binary, Buffer.concat([Buffer.from(SENTINEL), Buffer.from([1, 10]), Buffer.from(`${DEFAULTS}1`)]));
    await expect(applyFuses(binary)).rejects.toThrow(/strictlyRequireAllFuses/);
  });
});
