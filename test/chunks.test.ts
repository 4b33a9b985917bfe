import { describe, expect, it } from 'vitest';
import { MAX_CHUNKS, chunkCount, chunkRange, maxChunkRows } from '../src/engine/chunks.js';

describe('the chunk cut', () => {
  it('cuts by the batch size alone: the lesson bs 50 in two, bs 512 in 64-row chunks, huge batches in 64', () => {
    expect([1, 31, 32, 50, 128, 129, 512, 50_000].map(chunkCount)).toEqual([1, 1, 2, 2, 2, 3, 8, MAX_CHUNKS]);
  });

  it('covers every row exactly once, in order, with sizes that differ by at most one', () => {
    for (const bs of [1, 7, 50, 130, 512, 4099]) {
      const n = chunkCount(bs);
      const ranges = Array.from({ length: n }, (_, c) => chunkRange(bs, n, c));
      expect(ranges[0][0]).toBe(0);
      expect(ranges[n - 1][1]).toBe(bs);
      for (let c = 1; c < n; c++) expect(ranges[c][0]).toBe(ranges[c - 1][1]);
      const sizes = ranges.map(([lo, hi]) => hi - lo);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(Math.max(...sizes)).toBe(maxChunkRows(bs));
    }
  });
});
