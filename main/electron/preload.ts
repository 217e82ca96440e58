import { contextBridge } from 'electron';
import { version } from '../../package.json';

// Sandboxed, context-isolated preload. It exposes only the app version for now (enough to see
// that the preload ran); the typed command/event API from shared/ replaces this later.
contextBridge.exposeInMainWorld('poolscope', Object.freeze({ version }));
