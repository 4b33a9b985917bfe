import { describe, expect, it } from 'vitest';
import { KERNELS } from '../src/kernels/create.js';
import type { KernelName } from '../src/kernels/kernel.js';
import { mlpLayout } from '../src/model/layout.js';
import { MAX_ACC_FLOATS, MAX_ITEM_ROWS, itemStart, planSlices, rowItemCount, rowsPerItem, sliceRows } from '../src/engine/work-plan.js';

// The cut of a step into work items: it follows the thread count (no cut changes a byte, which the
// equivalence tests check), so what is checked here is that it covers everything once and offers
// enough items to spread.
const density = (nIn: number) => Float64Array.from({ length: nIn }, (_, k) => (k > nIn / 4 && k < (3 * nIn) / 4 ? 0.4 : 0.02));

describe('row items', () => {
  it('cover every row once, in order, in near-equal runs of at most MAX_ITEM_ROWS', () => {
    for (const bs of [1, 7, 50, 130, 512, 4099, 50_000]) {
      for (const threads of [1, 2, 3, 8, 16, 64]) {
        const n = rowItemCount(bs, threads);
        const sizes = Array.from({ length: n }, (_, c) => itemStart(bs, n, c + 1) - itemStart(bs, n, c));
        expect(itemStart(bs, n, 0)).toBe(0);
        expect(itemStart(bs, n, n)).toBe(bs);
        expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
        expect(Math.max(...sizes)).toBeLessThanOrEqual(Math.min(MAX_ITEM_ROWS, rowsPerItem(bs, threads)));
      }
    }
  });

  it('give the lesson bs 50 at least 2 items per thread on 16 threads, and one row an item at most', () => {
    expect(rowItemCount(50, 16)).toBeGreaterThanOrEqual(32);
    expect(rowItemCount(50, 1)).toBeLessThanOrEqual(8); // few calls where one thread does all
    expect(rowItemCount(512, 16)).toBeGreaterThanOrEqual(32);
  });
});

describe('the slice plan', () => {
  for (const kernel of ['wasm', 'js'] as KernelName[]) {
    for (const sizes of [[784, 50, 10], [785, 513, 7], [784, 32, 16, 8, 10], [3, 1, 2]]) {
      it(`${kernel} [${sizes}]: covers every gradient row of every layer exactly once, at any thread count`, () => {
        const storage = KERNELS[kernel].storage(mlpLayout(sizes));
        for (const threads of [1, 2, 3, 16, 64]) {
          const plan = planSlices(storage, density(sizes[0]), 50, threads);
          sizes.slice(1).forEach((_, l) => {
            const mine = plan.slices.filter((s) => s.layer === l).sort((a, b) => a.lo - b.lo);
            expect(mine[0].lo).toBe(0);
            for (let i = 1; i < mine.length; i++) expect(mine[i].lo).toBe(mine[i - 1].hi);
            expect(mine.at(-1)!.hi).toBe(sliceRows(storage, l));
          });
          // the first layer's slices, when it is stored transposed: their bounds and their places
          const first = plan.slices.filter((s) => s.layer === 0);
          if (storage.linears[0].transposed) {
            expect(plan.firstLayerBounds).toHaveLength(first.length + 1);
            for (const s of first) expect(plan.firstLayerBounds[s.part]).toBe(Math.min(s.lo, sizes[0]));
            expect(plan.firstLayerBounds.at(-1)).toBe(sizes[0]);
            // the accumulator of each fits the plan's
            for (const s of first) expect((Math.min(s.hi, sizes[0]) - s.lo + 1) * storage.linears[0].stride).toBeLessThanOrEqual(plan.accFloats);
          } else {
            expect(plan.firstLayerBounds).toEqual([]);
            expect(first.every((s) => s.part === -1)).toBe(true);
          }
          // every slice's accumulator fits the plan's, which stays in L1 unless four rows alone are wider
          for (const s of plan.slices) {
            const t = storage.linears[s.layer];
            expect(t.transposed ? (Math.min(s.hi, sizes[0]) - s.lo + 1) * t.stride : (s.hi - s.lo) * (t.stride + 1)).toBeLessThanOrEqual(plan.accFloats);
          }
          expect(plan.accFloats).toBeLessThanOrEqual(Math.max(MAX_ACC_FLOATS, ...storage.linears.map((t) => 5 * (t.stride + 1))));
          // the costliest first
          for (let i = 1; i < plan.slices.length; i++) expect(plan.slices[i].cost).toBeLessThanOrEqual(plan.slices[i - 1].cost);
        }
      });
    }
  }

  it('offers the lesson model at bs 50 at least 2 slices per thread on 16 threads', () => {
    const storage = KERNELS.wasm.storage(mlpLayout([784, 50, 10]));
    expect(planSlices(storage, density(784), 50, 16).slices.length).toBeGreaterThanOrEqual(32);
    expect(planSlices(storage, null, 50, 16).slices.length).toBeGreaterThanOrEqual(32);
  });

  it('starts the slices of padded storage on whole cache lines', () => {
    const storage = KERNELS.wasm.storage(mlpLayout([785, 51, 7]));
    for (const s of planSlices(storage, density(785), 512, 16).slices) {
      const t = storage.linears[s.layer];
      expect(((t.weight + s.lo * t.stride) * 4) % 64).toBe(0);
    }
  });
});

describe('the per-batch factor buffers', () => {
  it('take what factorBytes says: 516 bytes a row for 784-50-10 at one thread, 4.2 KB at hidden 513', async () => {
    const { Arena } = await import('../src/engine/arena.js');
    const { allocFactors, factorBytes } = await import('../src/engine/batch-factors.js');
    for (const [sizes, bs] of [
      [[784, 50, 10], 50],
      [[784, 513, 10], 1000],
      [[785, 32, 16, 8, 10], 7],
    ] as [number[], number][]) {
      for (const kernel of ['wasm', 'js'] as KernelName[]) {
        const storage = KERNELS[kernel].storage(mlpLayout(sizes));
        const plan = planSlices(storage, density(sizes[0]), bs, 1);
        const cuts = plan.firstLayerBounds.length; // 0 for the js kernel: its first layer is not transposed
        const arena = new Arena();
        const before = arena.byteLength;
        const r = allocFactors(arena, storage, bs, cuts);
        const regions = [...r.inputs, ...r.douts, r.loss, r.correct, r.norm, r.ready, ...(r.listCuts ? [r.listCuts] : [])];
        const bytes = regions.reduce((n, x) => n + x.length * (x.type === 'f64' ? 8 : 4), 0);
        expect(bytes).toBe(factorBytes(storage, bs, cuts));
        expect(arena.byteLength - before).toBeGreaterThanOrEqual(bytes);
      }
    }
    const mnist = KERNELS.wasm.storage(mlpLayout([784, 50, 10]));
    expect(factorBytes(mnist, 1, 7)).toBe(516);
    expect(factorBytes(KERNELS.wasm.storage(mlpLayout([784, 513, 10])), 1, 7)).toBe(4228);
  });
});
