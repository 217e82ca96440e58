// PNG exports: one chart (uPlot draws on a canvas) and the whole view.
//
// The view: Electron photographs its own window (webContents.capturePage, through the
// preload). A browser cannot, so the page draws itself: a clone of its DOM inside an SVG
// <foreignObject>, with the page's style sheets and resolved custom properties embedded,
// rendered as an image onto a canvas. What that cannot carry is handled here: canvases
// (charts, swimlanes) are blank in a clone, so each is replaced by an image of its pixels;
// form controls keep only their markup, so their current values are written into it. What
// it still cannot show: inner scroll positions (a scrolled table appears from its top),
// :hover and focus rings, and fonts the image cannot load (system fonts are fine).

import type { Reply } from '../../../../shared/api';

export interface LegendEntry {
  label: string;
  color: string;
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function toPng(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('The browser could not encode the PNG.'))), 'image/png'));
}

/**
 * A chart as PNG: its title, the plot and a legend, on the panel's background (uPlot's
 * canvas is transparent and has neither title nor legend, which are HTML).
 */
export function chartPng(plot: HTMLCanvasElement, title: string, legend: readonly LegendEntry[]): Promise<Blob> {
  const dpr = plot.width / Math.max(1, plot.clientWidth || plot.width);
  const pad = Math.round(8 * dpr);
  const line = Math.round(18 * dpr);
  const out = document.createElement('canvas');
  out.width = plot.width + 2 * pad;
  out.height = plot.height + 2 * line + 2 * pad;
  const ctx = out.getContext('2d');
  if (!ctx) return Promise.reject(new Error('No 2D canvas to draw the chart on.'));
  const font = cssVar('--sans', 'sans-serif');
  ctx.fillStyle = cssVar('--panel', '#fff');
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.fillStyle = cssVar('--fg', '#000');
  ctx.textBaseline = 'middle';
  ctx.font = `600 ${Math.round(12 * dpr)}px ${font}`;
  ctx.fillText(title, pad, pad + line / 2);
  ctx.drawImage(plot, pad, pad + line);
  ctx.font = `${Math.round(11 * dpr)}px ${font}`;
  let x = pad;
  const y = pad + line + plot.height + line / 2;
  for (const entry of legend) {
    ctx.fillStyle = entry.color;
    ctx.fillRect(x, y - 2 * dpr, 10 * dpr, 4 * dpr);
    x += 14 * dpr;
    ctx.fillStyle = cssVar('--fg', '#000');
    ctx.fillText(entry.label, x, y);
    x += ctx.measureText(entry.label).width + 12 * dpr;
  }
  return toPng(out);
}

/** The whole view as PNG: Electron's own capture of the window, else the page drawn from its DOM. */
export async function viewPng(root: HTMLElement): Promise<Blob> {
  const bridge = window.poolscope;
  if (bridge) return new Blob([unwrap(await bridge.capturePage())], { type: 'image/png' });
  return domPng(root);
}

function unwrap(reply: Reply<Uint8Array>): Uint8Array<ArrayBuffer> {
  if (!reply.ok) throw new Error(reply.error.message);
  return new Uint8Array(reply.res);
}

function escapeAttr(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Every rule of the page's style sheets (all ours: 'self' only under the CSP). */
function pageCss(): string {
  const parts: string[] = [];
  for (const sheet of Array.from(document.styleSheets)) {
    for (const rule of Array.from(sheet.cssRules)) parts.push(rule.cssText);
  }
  return parts.join('\n');
}

/**
 * The body's look and every custom property as resolved in this page: inside the image,
 * :root is the <svg> and the colour-scheme media query is the image's, not the page's.
 */
function rootStyle(width: number): string {
  const decl: string[] = [`width: ${width}px`];
  const root = getComputedStyle(document.documentElement);
  for (const name of Array.from(root)) if (name.startsWith('--')) decl.push(`${name}: ${root.getPropertyValue(name)}`);
  const body = getComputedStyle(document.body);
  for (const name of ['font-family', 'font-size', 'line-height', 'color', 'background-color', 'color-scheme']) decl.push(`${name}: ${body.getPropertyValue(name)}`);
  return decl.join('; ');
}

/** Writes what only lives in DOM properties (values, checks, canvas pixels) into the clone's markup. */
function freeze(original: HTMLElement, clone: HTMLElement): void {
  const from = original.querySelectorAll('input, select, textarea, canvas');
  const to = clone.querySelectorAll('input, select, textarea, canvas');
  from.forEach((el, i) => {
    const copy = to[i];
    if (!copy) return;
    if (el instanceof HTMLInputElement) {
      copy.setAttribute('value', el.value);
      if (el.checked) copy.setAttribute('checked', '');
      else copy.removeAttribute('checked');
    } else if (el instanceof HTMLTextAreaElement) {
      copy.textContent = el.value;
    } else if (el instanceof HTMLSelectElement) {
      copy.querySelectorAll('option').forEach((o, j) => (j === el.selectedIndex ? o.setAttribute('selected', '') : o.removeAttribute('selected')));
    } else if (el instanceof HTMLCanvasElement) {
      const img = document.createElement('img');
      img.src = el.toDataURL('image/png');
      img.className = el.className;
      // CSSOM, not a style attribute: the page's CSP allows the one, not the other.
      img.style.width = `${el.clientWidth}px`;
      img.style.height = `${el.clientHeight}px`;
      img.style.display = 'block';
      copy.replaceWith(img);
    }
  });
}

async function domPng(root: HTMLElement): Promise<Blob> {
  const width = Math.ceil(root.scrollWidth);
  const height = Math.ceil(root.scrollHeight);
  const clone = root.cloneNode(true) as HTMLElement;
  freeze(root, clone);
  // Built as text: a <style> or style attribute created in this document would meet its CSP.
  const xhtml =
    `<div xmlns="http://www.w3.org/1999/xhtml" style="${escapeAttr(rootStyle(width))}">` +
    `<style>${escapeText(pageCss())}</style>${new XMLSerializer().serializeToString(clone)}</div>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><foreignObject x="0" y="0" width="100%" height="100%">${xhtml}</foreignObject></svg>`;
  const img = new Image();
  img.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
  await img.decode();
  const scale = Math.min(window.devicePixelRatio || 1, 2);
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(width * scale);
  canvas.height = Math.round(height * scale);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('No 2D canvas to draw the view on.');
  ctx.scale(scale, scale);
  ctx.fillStyle = getComputedStyle(document.body).backgroundColor;
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(img, 0, 0);
  return toPng(canvas);
}
