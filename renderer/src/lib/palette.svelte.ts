// Colours for canvas drawing, read from the CSS custom properties in styles/global.css so
// that rows, badges, swimlanes and charts agree, in every theme. Cached; refreshed when
// the theme changes (lib/picture/display.svelte.ts).

import type { ConnState } from '../../../shared/snapshot';

const STATES: readonly ConnState[] = ['connecting', 'idle', 'borrowed', 'in-transaction', 'in-failed-transaction', 'closing', 'broken', 'closed'];

export interface Palette {
  state: Record<ConnState, string>;
  series: string[];
  grid: string;
  axis: string;
  fg: string;
  border: string;
}

let cached: Palette | null = null;
let version = $state(0);

function read(): Palette {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const state = {} as Record<ConnState, string>;
  for (const s of STATES) state[s] = v(`--state-${s}`, '#888');
  return {
    state,
    series: [1, 2, 3, 4, 5].map((i) => v(`--series-${i}`, '#888')),
    grid: v('--chart-grid', 'rgba(128,128,128,0.2)'),
    axis: v('--chart-axis', '#888'),
    fg: v('--fg', '#000'),
    border: v('--border', '#ccc'),
  };
}

/** Reads the colours again (the theme changed); canvases that read paletteVersion() redraw. */
export function refreshPalette(): void {
  cached = null;
  version++;
}

export function palette(): Palette {
  cached ??= read();
  return cached;
}

/** Changes when the theme does (reactive: an effect that reads it redraws then). */
export function paletteVersion(): number {
  return version;
}
