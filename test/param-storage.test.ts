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

  it('stores the first W transposed, everything zero-padded to vectors on cache lines, for the wasm kernel', () => {
    // W1 [5, 7] -> W1ᵀ [pad4(7) = 8, pad4(5) = 8] at 0; b1 [8] at 64; W2 [3, 5] -> [4, 8] at 80; b2 [4] at 112
    const layout = mlpLayout([7, 5, 3]);
    const s = paramStorage('wasm', layout);
    expect(s.linears.map((l) => [l.transposed, l.weight, l.rows, l.stride, l.bias, l.biasLength])).toEqual([
      [true, 0, 8, 8, 64, 8],
      [false, 80, 4, 8, 112, 4],
    ]);
    expect(s.count).toBe(128);
    const model = numbered(layout.count);
    const stored = new Float32Array(s.count).fill(NaN);
    s.store(model, stored);
    const [L1, L2] = layout.linears;
    for (let k = 0; k < 8; k++) {
      for (let j = 0; j < 8; j++) expect(stored[k * 8 + j], `W1ᵀ[${k}, ${j}]`).toBe(k < 7 && j < 5 ? model[L1.weight.offset + j * 7 + k] : 0);
    }
    for (let j = 0; j < 4; j++) {
      for (let k = 0; k < 8; k++) expect(stored[80 + j * 8 + k], `W2[${j}, ${k}]`).toBe(j < 3 && k < 5 ? model[L2.weight.offset + j * 5 + k] : 0);
    }
    expect(Array.from(stored.subarray(64, 80))).toEqual([...model.subarray(35, 40), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(stored.subarray(112, 128))).toEqual([...model.subarray(55, 58), ...new Array(13).fill(0)]);
    expect(Array.from(s.toModel(stored))).toEqual(Array.from(model));
  });

  it('round-trips the MNIST model and refuses blocks of the wrong size', () => {
    const layout = mlpLayout([784, 50, 10]);
    const s = new ParamStorage(layout, { transposeFirst: true, padded: true });
    expect(s.count).toBe(784 * 52 + 64 + 12 * 52 + 16);
    const model = Float32Array.from({ length: layout.count }, (_, i) => Math.sin(i));
    const stored = new Float32Array(s.count);
    s.store(model, stored);
    expect(Buffer.from(s.toModel(stored).buffer).equals(Buffer.from(model.buffer))).toBe(true);
    expect(() => s.store(model, new Float32Array(layout.count))).toThrow(/stored block/);
    expect(() => s.load(stored, new Float32Array(s.count))).toThrow(/parameters given/);
  });
});
