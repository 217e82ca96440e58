// IPC when the Electron preload is there, else the browser host's WebSocket (same origin,
// /ws, authenticated by the host's cookie).

import type { Transport } from '../../../shared/api';
import { ipcTransport } from './transport/ipc-transport';
import { createWsTransport } from './transport/ws-transport';

export function pickTransport(): Transport {
  return ipcTransport() ?? createWsTransport(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
}
