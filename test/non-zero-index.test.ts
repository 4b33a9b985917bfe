/** The non-zero index builder (data/non-zero-index.ts) and the shared state that holds it. */
import { describe, expect, it } from 'vitest';
import { heapAllocator } from '../src/data/dataset.js';
import { buildNonZeroIndex } from '../src/data/non-zero-index.js';
import { Arena } from '../src/engine/arena.js';
import { SharedState } from '../src/engine/shared-state.js';

const bitsOf = (a: Float32Array) => Array.from(new Int32Array(a.buffer, a.byteOffset, a.length));

describe('buildNonZeroIndex', () => {
  it('lists each row\'s inputs with any bit set, k ascending, values bit for bit', () => {
    const nIn = 5;
    const x = new Float32Array(4 * nIn);
    const xb = new Int32Array(x.buffer);
    x.set([0, 0.5, 0, 0, 1], 0); // row 0
    // row 1: all +0
    x.set([-0, 0, 2, 0, Number.NaN], 2 * nIn); // row 2: -0 and NaN are non-zero
    xb[2 * nIn + 3] = 0x7fa00001; // a NaN with a payload
    x.set([3, -4, 1e-45, Infinity, -Infinity], 3 * nIn); // row 3: all non-zero (a subnormal too)
    const nz = buildNonZeroIndex(x, 4, nIn, heapAllocator);
    expect(Array.from(nz.start)).toEqual([0, 2, 2, 6, 11]);
    expect(Array.from(nz.index)).toEqual([1, 4, 0, 2, 3, 4, 0, 1, 2, 3, 4]);
    const want: number[] = [];
    for (let i = 0; i < 4; i++) for (const t of nz.index.subarray(nz.start[i], nz.start[i + 1])) want.push(xb[i * nIn + t]);
    expect(bitsOf(nz.value)).toEqual(want);
    expect(bitsOf(nz.value)[4]).toBe(0x7fa00001);
    expect(bitsOf(nz.value)[2]).toBe(0x80000000 | 0);
  });

  it('reads only the first n rows, and handles no rows and no non-zeros', () => {
    const x = new Float32Array([1, 0, 0, 2, 5, 5]);
    const nz = buildNonZeroIndex(x, 2, 2, heapAllocator); // the third row is not part of the split
    expect(Array.from(nz.start)).toEqual([0, 1, 2]);
    expect(Array.from(nz.index)).toEqual([0, 1]);
    expect(Array.from(nz.value)).toEqual([1, 2]);
    const empty = buildNonZeroIndex(new Float32Array(0), 0, 7, heapAllocator);
    expect(Array.from(empty.start)).toEqual([0]);
    expect(empty.index.length).toBe(0);
    const zeros = buildNonZeroIndex(new Float32Array(6), 3, 2, heapAllocator);
    expect(Array.from(zeros.start)).toEqual([0, 0, 0, 0]);
    expect(zeros.index.length + zeros.value.length).toBe(0);
    expect(() => buildNonZeroIndex(new Float32Array(5), 3, 2, heapAllocator)).toThrow(RangeError);
  });

  it('allocates with the allocator it is given (the arena, for workers)', () => {
    const arena = new Arena();
    const x = arena.alloc('f32', 8).fill(1);
    const nz = buildNonZeroIndex(x, 2, 4, { f32: (n) => arena.alloc('f32', n), i32: (n) => arena.alloc('i32', n) });
    for (const a of [nz.start, nz.index, nz.value]) expect(arena.regionOf(a)).not.toBeNull();
  });
});

describe('SharedState and the non-zero index', () => {
  const nIn = 6;
  const mk = (n: number, seed: number) => {
    const x = new Float32Array(n * nIn).map((_, i) => ((i * 7 + seed) % 3 === 0 ? i / 10 : 0));
    return { x, y: new Int32Array(n).map((_, i) => i % 3), n, nIn };
  };
  const data = { train: mk(9, 1), valid: mk(4, 2), nIn, nClasses: 3, source: 'test' };
  const opts = { sizes: [nIn, 4, 3], batchSize: 4, threads: 2 };

  it('builds it for the training split of the wasm kernel only, and attach rebuilds its views', () => {
    const state = SharedState.create(new Arena(), data, { ...opts, kernel: 'wasm' });
    const nz = state.split('train').nonZero!;
    const want = buildNonZeroIndex(data.train.x, 9, nIn, heapAllocator);
    expect(Array.from(nz.start)).toEqual(Array.from(want.start));
    expect(Array.from(nz.index)).toEqual(Array.from(want.index));
    expect(bitsOf(nz.value)).toEqual(bitsOf(want.value));
    expect(state.split('valid').nonZero).toBeUndefined();
    const attached = SharedState.attach(state.setup).split('train').nonZero!;
    expect(attached.start.byteOffset).toBe(nz.start.byteOffset);
    expect(Array.from(attached.index)).toEqual(Array.from(nz.index));
    expect(bitsOf(attached.value)).toEqual(bitsOf(nz.value));
    expect(SharedState.create(new Arena(), data, { ...opts, kernel: 'js' }).split('train').nonZero).toBeUndefined();
  });
});
