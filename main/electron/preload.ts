import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { version } from '../../package.json';
import type { Batch, Reply } from '../../shared/api';
import type { PoolscopeBridge } from '../../renderer/src/lib/transport/bridge';
import { BATCH_CHANNEL, CAPTURE_CHANNEL, INVOKE_CHANNEL } from './channels';

// Sandboxed, context-isolated preload (built as CommonJS: a sandboxed preload is a classic
// script). It exposes four members and never ipcRenderer itself, so the page can reach the
// main process only through these three channels, and the main process still checks who is
// asking and validates every request (main/electron/ipc.ts). Type-only imports: this bundle
// carries neither zod nor engine code.

const bridge: PoolscopeBridge = {
  version,

  // Always resolves with a Reply (see PoolscopeBridge): an Error would lose its code on the
  // way through the contextBridge.
  async invoke(cmd: string, req?: unknown): Promise<Reply<unknown>> {
    try {
      return (await ipcRenderer.invoke(INVOKE_CHANNEL, cmd, req)) as Reply<unknown>;
    } catch (err) {
      // Only when the main process could not answer at all (no handler, arguments that cannot
      // be cloned): its own failures already come back as a Reply.
      return { ok: false, error: { code: 'ipc-failed', message: err instanceof Error ? err.message : String(err) } };
    }
  },

  // Takes no argument from the page: the main process decides what is captured (the sender).
  async capturePage(): Promise<Reply<Uint8Array>> {
    try {
      return (await ipcRenderer.invoke(CAPTURE_CHANNEL)) as Reply<Uint8Array>;
    } catch (err) {
      return { ok: false, error: { code: 'ipc-failed', message: err instanceof Error ? err.message : String(err) } };
    }
  },

  subscribe(onBatch: (batch: Batch) => void): () => void {
    if (typeof onBatch !== 'function') throw new TypeError('poolscope.subscribe: onBatch must be a function');
    const listener = (_event: IpcRendererEvent, batch: Batch) => {
      // A listener that throws must not keep the others from their batch.
      try {
        onBatch(batch);
      } catch (err) {
        console.error('poolscope: a batch listener failed', err);
      }
    };
    ipcRenderer.on(BATCH_CHANNEL, listener);
    return () => {
      ipcRenderer.removeListener(BATCH_CHANNEL, listener);
    };
  },
};

contextBridge.exposeInMainWorld('poolscope', Object.freeze(bridge));
