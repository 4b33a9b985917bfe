import { describe, expect, it } from 'vitest';
import type { BatchFactors } from '../src/engine/batch-factors.js';
import type { SharedState } from '../src/engine/shared-state.js';
import type { Kernel } from '../src/kernels/kernel.js';
import { kernelModule } from '../src/kernels/wasm/module.js';
import { WasmKernel } from '../src/kernels/wasm-kernel.js';
import { bytes, caseState, rowsPass, slicesPass, updateOptions, type Case } from './helpers/kernel-case.js';

// Why a step's bytes do not depend on the thread count, checked phase by phase on each kernel:
// - the rows pass: a row's values depend on that row alone, whatever rows share its call;
// - the slices pass: every gradient element is summed over the rows in row order, whatever slice holds it.
const KERNELS = [
  { name: 'js', kernel: 'js' as const, make: (s: SharedState): Kernel => s.kernel(0) },
  ...(['simd', 'relaxed'] as const)
    .filter((v) => kernelModule(v) !== null)
    .map((variant) => ({ name: `wasm ${variant}`, kernel: 'wasm' as const, make: (s: SharedState): Kernel => new WasmKernel(s.kernelContext(0), { variant }) })),
];
const CASES: Case[] = [
  { sizes: [784, 50, 10], rows: 50, density: 0.19, seed: 41 },
  { sizes: [785, 51, 49, 7], rows: 29, density: 0.3, seed: 42 },
  { sizes: [7, 3], rows: 13, density: 1, seed: 43 },
];

/** Every factor buffer's bytes for the batch's rows. */
function factorBytes(f: BatchFactors, rows: number): Buffer {
  const parts: (Float32Array | Float64Array | Int32Array)[] = [f.loss.subarray(0, rows), f.correct.subarray(0, rows)];
  f.inputs.forEach((x, l) => parts.push(x.subarray(0, rows * f.inStride[l])));
  f.douts.forEach((x, l) => parts.push(x.subarray(0, rows * f.outStride[l])));
  if (f.listCuts) parts.push(f.listCuts.subarray(0, rows * f.cutStride));
  return Buffer.concat(parts.map((p) => Buffer.from(bytes(p))));
}

for (const k of KERNELS) {
  describe(`${k.name} kernel`, () => {
    for (const c of CASES) {
      it(`[${c.sizes}] x ${c.rows}: the rows pass gives every row the same bytes in items of 1, 2, 3 and 7 rows`, () => {
        const runs = [1, 2, 3, 7].map((itemRows) => {
          const { state } = caseState(c, { kernel: k.kernel, planThreads: 3 });
          const f = state.factors;
          for (const x of [...f.inputs, ...f.douts]) x.fill(NaN); // nothing left over from elsewhere
          rowsPass(k.make(state), c.rows, itemRows);
          return factorBytes(f, c.rows);
        });
        for (const r of runs.slice(1)) expect(r.equals(runs[0])).toBe(true);
      });

      it(`[${c.sizes}] x ${c.rows}: the slices pass gives the same parameters for plans cut for 1, 3 and 16 threads`, () => {
        const opt = { lr: 0.05, momentum: 0.9, weightDecay: 0.01 };
        const runs = [1, 3, 16].map((planThreads) => {
          const { state } = caseState(c, { kernel: k.kernel, planThreads, momentum: true });
          const kernel = k.make(state);
          for (let step = 0; step < 2; step++) {
            rowsPass(kernel, c.rows, 5);
            slicesPass(kernel, state, c.rows, opt);
          }
          return { slices: state.plan.slices.length, params: Buffer.from(bytes(state.params)), buf: Buffer.from(bytes(state.momentum!)) };
        });
        if (c.sizes[0] > 7) expect(runs[2].slices).toBeGreaterThan(runs[0].slices);
        for (const r of runs.slice(1)) {
          expect(r.params.equals(runs[0].params)).toBe(true);
          expect(r.buf.equals(runs[0].buf)).toBe(true);
        }
      });
    }

    it('a slice reads a row only once it is ready for the step, and gives the call back, writing nothing, when one is not', () => {
      const c = CASES[0];
      const { state } = caseState(c, { kernel: k.kernel, planThreads: 2 });
      const kernel = k.make(state);
      const opt = updateOptions({ lr: 0.1, momentum: 0, weightDecay: 0 }, c.rows);
      kernel.trainRows(0, c.rows - 1, 5); // all but the last row
      const before = Buffer.from(bytes(state.params));
      for (let s = 0; s < state.plan.slices.length; s++) expect(kernel.updateSlice(s, c.rows, opt, 5)).toBe(false);
      kernel.trainRows(c.rows - 1, c.rows, 4); // the last row, but for another step
      expect(kernel.updateSlice(0, c.rows, opt, 5)).toBe(false);
      expect(Buffer.from(bytes(state.params)).equals(before)).toBe(true);
      kernel.trainRows(c.rows - 1, c.rows, 5);
      for (let s = 0; s < state.plan.slices.length; s++) expect(kernel.updateSlice(s, c.rows, opt, 5)).toBe(true);
      expect(Buffer.from(bytes(state.params)).equals(before)).toBe(false);
    });
  });
}
