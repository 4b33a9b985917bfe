import type { Allocator, NonZeroIndex } from './dataset.js';

/**
 * Lists each row's non-zero inputs once, so that a kernel can copy a row's list instead of scanning
 * its nIn inputs (the wasm kernel's sparse first layer). "Non-zero" means any bit set: -0 and NaN are
 * listed (they change a product's sum), only +0 is left out, as the kernels' own listing does.
 *   x: [n, nIn] f32  ->  start: [n + 1] i32, index: [nnz] i32 (pixel k), row i's non-zeros being
 *   index[start[i] .. start[i + 1]) in ascending k
 * Two passes over x: one to count (so `index` is allocated at its exact size), one to fill.
 */
export function buildNonZeroIndex(x: Float32Array, n: number, nIn: number, alloc: Allocator): NonZeroIndex {
  if (x.length < n * nIn) throw new RangeError(`x has ${x.length} values, not [${n}, ${nIn}]`);
  const bits = new Int32Array(x.buffer, x.byteOffset, n * nIn);
  const start = alloc.i32(n + 1);
  let nnz = 0;
  for (let i = 0, p = 0; i < n; i++) {
    start[i] = nnz;
    for (const end = p + nIn; p < end; p++) if (bits[p] !== 0) nnz++;
  }
  start[n] = nnz;
  const index = alloc.i32(nnz);
  const value = alloc.f32(nnz);
  const valueBits = new Int32Array(value.buffer, value.byteOffset, nnz); // copies NaN payloads as they are
  for (let i = 0, p = 0, t = 0; i < n; i++, p += nIn) {
    for (let k = 0; k < nIn; k++) {
      const v = bits[p + k];
      if (v !== 0) {
        index[t] = k;
        valueBits[t++] = v;
      }
    }
  }
  return { start, index, value };
}
