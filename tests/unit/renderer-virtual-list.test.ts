import { describe, expect, it } from 'vitest';
import { visibleSlice } from '../../renderer/src/lib/virtual-list';

describe('the virtual list slice', () => {
  const base = { viewportHeight: 240, rowHeight: 24, count: 10_000, overscan: 10 };

  it('renders the visible rows plus overscan at the top', () => {
    const s = visibleSlice({ ...base, scrollTop: 0 });
    expect(s).toEqual({ start: 0, end: 21, padTop: 0, padBottom: (10_000 - 21) * 24, totalHeight: 240_000 });
  });

  it('renders a small window in the middle of 10,000 rows', () => {
    const s = visibleSlice({ ...base, scrollTop: 24_000 + 12 });
    expect(s.start).toBe(990);
    expect(s.end).toBe(1_021);
    expect(s.end - s.start).toBeLessThan(40);
    expect(s.padTop + (s.end - s.start) * 24 + s.padBottom).toBe(s.totalHeight);
  });

  it('stops at the end of the list', () => {
    const s = visibleSlice({ ...base, scrollTop: 240_000 - 240 });
    expect(s.end).toBe(10_000);
    expect(s.padBottom).toBe(0);
  });

  it('clamps when the list shrank under a scrolled viewport', () => {
    const s = visibleSlice({ ...base, count: 50, scrollTop: 24_000 });
    expect(s).toMatchObject({ start: 30, end: 50, padBottom: 0 });
  });

  it('handles an empty list and odd inputs', () => {
    expect(visibleSlice({ ...base, count: 0, scrollTop: 100 })).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0, totalHeight: 0 });
    expect(visibleSlice({ ...base, count: 5, scrollTop: -50 })).toMatchObject({ start: 0, end: 5 });
    expect(visibleSlice({ ...base, count: 3, viewportHeight: 0, scrollTop: 0 })).toMatchObject({ start: 0, end: 3 });
  });
});
