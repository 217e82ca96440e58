import type { Batch, CommandName, Commands, Transport } from '../../../../shared/api';
import type { PoolscopeBridge } from './bridge';
import { TransportError } from './ws-transport';

// The renderer's Transport inside Electron's window, over the preload's `window.poolscope`
// (main/electron/preload.ts). The main process subscribes the window when it creates it, so
// batches can arrive before the first `snapshot.get` reply, exactly as over the WebSocket:
// the store rebases whenever `batch.from` is not the previous `to` + 1.

function isBridge(value: unknown): value is PoolscopeBridge {
  if (typeof value !== 'object' || value === null) return false;
  const b = value as Partial<PoolscopeBridge>;
  return typeof b.invoke === 'function' && typeof b.subscribe === 'function';
}

/** The Transport over Electron's preload, or null outside Electron (use the WebSocket one then). */
export function ipcTransport(): Transport | null {
  const bridge: unknown = typeof window === 'undefined' ? undefined : window.poolscope;
  if (!isBridge(bridge)) return null;

  return {
    async invoke<K extends CommandName>(cmd: K, req: Commands[K]['req']): Promise<Commands[K]['res']> {
      const reply = await bridge.invoke(cmd, req);
      if (reply.ok) return reply.res as Commands[K]['res'];
      throw new TransportError(reply.error);
    },

    subscribe(onBatch: (batch: Batch) => void): () => void {
      return bridge.subscribe(onBatch);
    },
  };
}
