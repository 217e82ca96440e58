// The two IPC channels between the preload and the main process. Kept apart from main.ts so the
// preload bundle imports these strings and nothing else of the main side.

/** renderer → main, `ipcRenderer.invoke(INVOKE, cmd, req)`: answered with a Reply, never a rejection. */
export const INVOKE_CHANNEL = 'poolscope:invoke';

/** main → renderer, `webContents.send(BATCH, batch)`: the window's coalesced event stream. */
export const BATCH_CHANNEL = 'poolscope:batch';

/** renderer → main, `ipcRenderer.invoke(CAPTURE)`: the window's page as PNG bytes, in a Reply. */
export const CAPTURE_CHANNEL = 'poolscope:capture';
