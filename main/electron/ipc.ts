import { type IpcMainInvokeEvent, type WebContents, ipcMain } from 'electron';
import type { Reply } from '../../shared/api';
import { isAppUrl } from './app-protocol';
import { BATCH_CHANNEL, CAPTURE_CHANNEL, INVOKE_CHANNEL } from './channels';
import type { EngineHost } from './engine-host';

// The IPC side of the shell: one handler for every command, one batch stream per window.
// Nothing here interprets a request: EngineHost/PoolscopeService validate it (zod schemas
// from shared/api.ts) before it reaches the engine.

/** The webContents of the windows we created; nothing else may call the engine. */
const ours = new Set<WebContents>();

/**
 * Only the main frame of one of our windows, showing our own page (app://poolscope/), may
 * invoke. A subframe, a page that got there by some navigation we failed to stop, or any other
 * webContents is refused. senderFrame is null when the frame navigated away or is gone.
 */
function trusted(event: IpcMainInvokeEvent): boolean {
  const contents = event.sender;
  if (!ours.has(contents) || contents.isDestroyed()) return false;
  const frame = event.senderFrame;
  const main = contents.mainFrame;
  if (!frame || frame.isDestroyed()) return false;
  const isMainFrame = frame === main || (frame.processId === main.processId && frame.frameToken === main.frameToken);
  return isMainFrame && isAppUrl(frame.url);
}

const FORBIDDEN: Reply<never> = {
  ok: false,
  error: { code: 'forbidden', message: 'This frame may not call Poolscope.' },
};

/** Registers the invoke handler, once, before any window exists. */
export function handleInvokes(host: EngineHost): void {
  ipcMain.handle(INVOKE_CHANNEL, async (event: IpcMainInvokeEvent, cmd: unknown, req: unknown): Promise<Reply<unknown>> => {
    if (!trusted(event)) {
      console.warn(`poolscope: refused a call from ${event.senderFrame?.url || 'a frame that is gone'}`);
      return FORBIDDEN;
    }
    return host.handle(cmd, req);
  });
}

/**
 * Registers the view capture, once: the calling window photographs itself (what it shows,
 * never another window), for the "export view as PNG" button. Same sender check as invokes.
 */
export function handleCaptures(): void {
  ipcMain.handle(CAPTURE_CHANNEL, async (event: IpcMainInvokeEvent): Promise<Reply<Uint8Array>> => {
    if (!trusted(event)) {
      console.warn(`poolscope: refused a capture from ${event.senderFrame?.url || 'a frame that is gone'}`);
      return FORBIDDEN;
    }
    try {
      const image = await event.sender.capturePage();
      return { ok: true, res: new Uint8Array(image.toPNG()) };
    } catch (err) {
      return { ok: false, error: { code: 'capture-failed', message: `Could not capture the window: ${err instanceof Error ? err.message : String(err)}` } };
    }
  });
}

/**
 * Makes `contents` one of ours and streams the engine's batches to it until it is destroyed.
 * Batches sent while the page (re)loads are lost: the renderer sees the gap in `from` and
 * rebases on snapshot.get, as it does after any gap.
 */
export function attachWindow(contents: WebContents, host: EngineHost): void {
  ours.add(contents);
  const unsubscribe = host.service.subscribe((batch) => {
    if (contents.isDestroyed()) return false;
    try {
      contents.send(BATCH_CHANNEL, batch);
      return true;
    } catch (err) {
      console.error(`poolscope: could not send a batch to the window: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
  });
  contents.once('destroyed', () => {
    unsubscribe();
    ours.delete(contents);
  });
}
