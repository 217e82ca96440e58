import type { MenuItemConstructorOptions } from 'electron';

// The application menu. Electron's default one has "Toggle Developer Tools" (and Reload) in
// View: anyone at the keyboard could open DevTools on the window that drives the engine. Ours
// keeps what the page needs (copy and paste in its fields, zoom, full screen, quit) and offers
// DevTools and Reload only to a developer who asks (main.ts: POOLSCOPE_DEVTOOLS=1, never in a
// packaged app).

export function menuTemplate(platform: NodeJS.Platform, devTools: boolean): MenuItemConstructorOptions[] {
  const view: MenuItemConstructorOptions[] = [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }];
  if (devTools) view.push({ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' });
  return [
    ...(platform === 'darwin' ? [{ role: 'appMenu' } as const] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { label: 'View', submenu: view },
    { role: 'windowMenu' },
  ];
}
