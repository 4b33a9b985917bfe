import { describe, expect, it } from 'vitest';
import { Arena } from '../src/engine/arena.js';
import { createKernel, kernelScratchBytes } from '../src/kernels/create.js';
import { KERNEL_NAMES, type KernelName } from '../src/kernels/kernel.js';
import { mlpLayout } from '../src/model/layout.js';
import { Rng } from '../src/rng.js';
import { relError } from './helpers/rel-error.js';

// The batch-mean SGD update each kernel carries: slicing must not change a byte (the slices follow
// the thread count), and the SIMD update must agree with the reference.
const layout = mlpLayout([37, 11, 5]); // P = 37*11 + 11 + 11*5 + 5 = 478: not a multiple of 4 or 16
const P = layout.count;
const nChunks = 3;

function setup(name: KernelName, seed: number) {
  const arena = new Arena();
  const kernel = createKernel(name, { layout, maxRows: 8, memory: arena.memory, scratch: arena.alloc('u8', kernelScratchBytes(name, layout, 8)) });
  const rng = new Rng(seed);
  const params = arena.alloc('f32', P);
  const slots = arena.alloc('f32', nChunks * P);
  const buf = arena.alloc('f32', P);
  for (const a of [params, slots, buf]) for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return { kernel, params, slots, buf };
}

const options = [
  { lr: 0.1, momentum: 0, weightDecay: 0 },
  { lr: 0.05, momentum: 0.9, weightDecay: 0.001 },
];

describe('kernel update', () => {
  for (const name of KERNEL_NAMES) {
    for (const o of options) {
      it(`${name}, momentum ${o.momentum}: the same bytes in one slice or in uneven slices`, () => {
        const a = setup(name, 1);
        const b = setup(name, 1);
        a.kernel.update(o, a.params, a.slots, nChunks, 40, o.momentum ? a.buf : null, 0, P);
        for (const [lo, hi] of [[0, 3], [3, 16], [16, 101], [101, 477], [477, 478]]) b.kernel.update(o, b.params, b.slots, nChunks, 40, o.momentum ? b.buf : null, lo, hi);
        expect(Buffer.from(b.params.buffer, b.params.byteOffset, b.params.byteLength).equals(Buffer.from(a.params.buffer, a.params.byteOffset, a.params.byteLength))).toBe(true);
        expect(Array.from(b.buf)).toEqual(Array.from(a.buf));
      });
    }
  }

  for (const o of options) {
    it(`wasm agrees with the reference (momentum ${o.momentum})`, () => {
      const js = setup('js', 2);
      const wasm = setup('wasm', 2);
      for (let step = 0; step < 3; step++) {
        js.kernel.update(o, js.params, js.slots, nChunks, 40, o.momentum ? js.buf : null, 0, P);
        wasm.kernel.update(o, wasm.params, wasm.slots, nChunks, 40, o.momentum ? wasm.buf : null, 0, P);
      }
      expect(relError(wasm.params, js.params)).toBeLessThan(1e-6);
      expect(relError(wasm.buf, js.buf)).toBeLessThan(1e-6);
      // and it did move the parameters
      expect(relError(wasm.params, setup('js', 2).params)).toBeGreaterThan(1e-3);
    });
  }
});
