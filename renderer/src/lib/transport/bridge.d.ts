import type { Batch, Reply } from '../../../../shared/api';

/**
 * What the Electron preload (main/electron/preload.ts) exposes as `window.poolscope`, and
 * all it exposes: no ipcRenderer, no Node. Absent in a plain browser (the browser host).
 *
 * `invoke` resolves with the whole Reply instead of rejecting on failure: Electron's
 * contextBridge copies only the message of an Error that crosses it (electron/electron#25596),
 * so a rejection would lose the ApiError code. ipcTransport() turns the Reply into the
 * Transport contract (resolve with `res`, reject with a TransportError carrying the code).
 */
export interface PoolscopeBridge {
  readonly version: string;
  invoke(cmd: string, req?: unknown): Promise<Reply<unknown>>;
  /** Calls `onBatch` with every batch sent to this window; returns the unsubscribe. */
  subscribe(onBatch: (batch: Batch) => void): () => void;
  /** This window's visible page as PNG bytes (webContents.capturePage), for the view export. */
  capturePage(): Promise<Reply<Uint8Array>>;
}

declare global {
  interface Window {
    readonly poolscope?: PoolscopeBridge;
  }
}
