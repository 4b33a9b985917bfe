import { describe, expect, it } from 'vitest';
import { paramStorage } from '../src/kernels/create.js';
import { ParamStorage } from '../src/kernels/param-storage.js';
import { mlpLayout } from '../src/model/layout.js';

const numbered = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 1);

describe('ParamStorage', () => {
  it('keeps the model layout for the js kernel', () => {
    const layout = mlpLayout([7, 5, 3]);
    const s = paramStorage('js', layout);
    expect(s.linears.every((l) => !l.transposed)).toBe(true);
    expect(s.count).toBe(layout.count);
    const stored = new Float32Array(s.count);
    s.store(numbered(layout.count), stored);
    expect(Array.from(stored)).toEqual(Array.from(numbered(layout.count)));
  });

  it('stores the first W transposed and zero-padded for the wasm kernel, the rest as it is', () => {
    // W1 [5, 7] -> W1ᵀ [pad4(7) = 8, pad4(5) = 8]
    const layout = mlpLayout([7, 5, 3]);
    const s = paramStorage('wasm', layout);
    expect(s.linears.map((l) => l.transposed)).toEqual([true, false]);
    expect(s.count).toBe(8 * 8 + 5 + 3 * 5 + 3);
    const model = numbered(layout.count);
    const stored = new Float32Array(s.count).fill(NaN);
    s.store(model, stored);
    const W1 = layout.linears[0].weight;
    for (let k = 0; k < 8; k++) {
      for (let j = 0; j < 8; j++) {
        const want = k < 7 && j < 5 ? model[W1.offset + j * 7 + k] : 0;
        expect(stored[k * 8 + j], `W1ᵀ[${k}, ${j}]`).toBe(want);
      }
    }
    // b1, then layer 2 as in the model
    expect(Array.from(stored.subarray(64))).toEqual(Array.from(model.subarray(35)));
    expect(Array.from(s.toModel(stored))).toEqual(Array.from(model));
  });

  it('round-trips the MNIST model and refuses blocks of the wrong size', () => {
    const layout = mlpLayout([784, 50, 10]);
    const s = new ParamStorage(layout, true);
    expect(s.count).toBe(784 * 52 + 50 + 500 + 10);
    const model = Float32Array.from({ length: layout.count }, (_, i) => Math.sin(i));
    const stored = new Float32Array(s.count);
    s.store(model, stored);
    expect(Buffer.from(s.toModel(stored).buffer).equals(Buffer.from(model.buffer))).toBe(true);
    expect(() => s.store(model, new Float32Array(layout.count))).toThrow(/stored block/);
    expect(() => s.load(stored, new Float32Array(s.count))).toThrow(/parameters given/);
  });
});
