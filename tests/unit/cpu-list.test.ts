import { describe, expect, it } from 'vitest';
import { parseCpuList } from '../bench/pinning';

// The bench pins its 1-client attach rows to two of the cores taskset lists for it.
describe('parseCpuList', () => {
  it('reads single cores, ranges and both', () => {
    expect(parseCpuList('0,1')).toEqual([0, 1]);
    expect(parseCpuList('0-3')).toEqual([0, 1, 2, 3]);
    expect(parseCpuList('2,4-5,7\n')).toEqual([2, 4, 5, 7]);
  });

  it('finds one core where only one is allowed', () => {
    expect(parseCpuList('3')).toEqual([3]);
  });
});
