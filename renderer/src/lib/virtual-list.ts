// Which rows of a fixed-row-height list to render: the visible ones plus some overscan
// on each side, and the padding that keeps the scrollbar honest. Pure arithmetic.

export interface SliceInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  count: number;
  /** Extra rows rendered above and below the visible ones. */
  overscan?: number;
}

export interface Slice {
  /** First row rendered (inclusive). */
  start: number;
  /** Row after the last one rendered (exclusive). */
  end: number;
  /** Space above the first rendered row, in pixels. */
  padTop: number;
  /** Space below the last rendered row, in pixels. */
  padBottom: number;
  /** Height of the whole list, in pixels. */
  totalHeight: number;
}

export function visibleSlice({ scrollTop, viewportHeight, rowHeight, count, overscan = 8 }: SliceInput): Slice {
  const n = Math.max(0, Math.floor(count));
  const h = rowHeight > 0 ? rowHeight : 1;
  const totalHeight = n * h;
  if (n === 0) return { start: 0, end: 0, padTop: 0, padBottom: 0, totalHeight: 0 };
  // A list that shrank under a scrolled viewport: clamp to what still exists.
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, totalHeight - Math.max(0, viewportHeight)));
  const first = Math.floor(top / h);
  const visible = Math.ceil(Math.max(0, viewportHeight) / h) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(n, first + visible + overscan);
  return { start, end, padTop: start * h, padBottom: (n - end) * h, totalHeight };
}
