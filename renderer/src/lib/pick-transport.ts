// IPC when the Electron preload is there, else the browser host's WebSocket (same origin,
// /ws), authenticated by the token the printed URL brought to this tab.

import type { Transport } from '../../../shared/api';
import { ipcTransport } from './transport/ipc-transport';
import { type TokenStorage, takePageToken } from './transport/page-token';
import { createWsTransport, wsUrlFromLocation } from './transport/ws-transport';

/** The tab's sessionStorage, or null where reading it throws (storage disabled). */
function tabStorage(): TokenStorage | null {
  try {
    return sessionStorage;
  } catch {
    return null;
  }
}

export function pickTransport(): Transport {
  return ipcTransport() ?? createWsTransport(wsUrlFromLocation(location), { token: takePageToken(location, history, tabStorage()) });
}
