import { describe, expect, it } from 'vitest';
import { menuTemplate } from '../../main/electron/menu';

// The desktop app's menu: no way to DevTools (nor Reload, which would drop the page's state)
// unless a developer asks for them (POOLSCOPE_DEVTOOLS=1 on an unpacked app).

type Item = ReturnType<typeof menuTemplate>[number];

function roles(items: Item[]): string[] {
  return items.flatMap((i) => [...(i.role ? [i.role] : []), ...(Array.isArray(i.submenu) ? roles(i.submenu as Item[]) : [])]);
}

describe('the application menu', () => {
  it.each(['linux', 'win32', 'darwin'] as const)('on %s has no DevTools, reload or Electron view menu; edit and quit stay', (platform) => {
    const r = roles(menuTemplate(platform, false));
    for (const role of ['toggleDevTools', 'reload', 'forceReload', 'viewMenu']) expect(r).not.toContain(role);
    expect(r).toEqual(expect.arrayContaining(['fileMenu', 'editMenu', 'windowMenu', 'zoomIn', 'togglefullscreen']));
    expect(r.includes('appMenu')).toBe(platform === 'darwin');
  });

  it('offers DevTools and reload when a developer asks', () => {
    expect(roles(menuTemplate('linux', true))).toEqual(expect.arrayContaining(['toggleDevTools', 'reload']));
  });
});
