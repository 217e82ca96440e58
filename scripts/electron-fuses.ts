// Electron's fuses: switches compiled into the Electron executable, read before any of our code
// runs, so they can only be flipped in the binary itself. They belong to the binary that ships:
// run this on the packaged app's executable after packing (electron-builder's afterPack and
// Electron Forge's FusesPlugin do the same with the same values):
//
//   npm run fuses -- path/to/Poolscope            (macOS: path/to/Poolscope.app)
//
// It flips every fuse to FUSES below and reads the wire back, failing if any fuse differs.
// Not applied to node_modules' Electron, which `npm start` and the Electron e2e test run: it
// loads the unpacked app (OnlyLoadAppFromAsar would refuse it) and Playwright attaches to it
// with --inspect (EnableNodeCliInspectArguments). This project has no packaging step yet.
import { pathToFileURL } from 'node:url';
import { type FuseConfig, FuseState, FuseV1Options, FuseVersion, flipFuses, getCurrentFuseWire } from '@electron/fuses';

/** Every fuse decided (strictlyRequireAllFuses: an Electron with a new fuse fails until it is). */
export const FUSES = {
  version: FuseVersion.V1,
  strictlyRequireAllFuses: true,
  // ELECTRON_RUN_AS_NODE would turn the app into a plain Node that runs any script.
  [FuseV1Options.RunAsNode]: false,
  // Cookies on disk encrypted with the OS key store.
  [FuseV1Options.EnableCookieEncryption]: true,
  // NODE_OPTIONS (--require a script) and --inspect on the command line: code injection from outside.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // The app only from app.asar, and that checked against the hash in the executable.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
  [FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]: false,
  // The UI is served from app://, so file:// needs none of its extra privileges.
  [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
  [FuseV1Options.WasmTrapHandlers]: true,
} as const satisfies FuseConfig;

/** Flips the fuses of the Electron executable at `binary`, then reads them back; throws if one differs. */
export async function applyFuses(binary: string): Promise<Record<string, boolean>> {
  await flipFuses(binary, FUSES);
  const wire = await getCurrentFuseWire(binary);
  const seen: Record<string, boolean> = {};
  for (const [key, want] of Object.entries(FUSES)) {
    const option = Number(key);
    if (!Number.isInteger(option) || typeof want !== 'boolean') continue;
    const name = FuseV1Options[option] as string;
    const state = wire[option as FuseV1Options];
    if (state !== (want ? FuseState.ENABLE : FuseState.DISABLE)) throw new Error(`fuse ${name} is ${state === undefined ? 'missing' : FuseState[state]} after flipping, not ${want ? 'ENABLE' : 'DISABLE'}`);
    seen[name] = want;
  }
  return seen;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const binary = process.argv[2];
  if (!binary) {
    console.error('usage: npm run fuses -- <path to the packaged Electron executable>');
    process.exit(2);
  }
  applyFuses(binary).then(
    (seen) => console.log(`fuses set on ${binary}: ${Object.entries(seen).map(([k, v]) => `${k}=${v ? 'on' : 'off'}`).join(', ')}`),
    (err: unknown) => {
      console.error(`fuses: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
