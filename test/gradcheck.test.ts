import { describe, expect, it } from 'vitest';
import { crossEntropyBackward, crossEntropyForward } from '../src/nn/cross-entropy.js';
import { linBackward, linForward, linWeightGrad } from '../src/nn/linear.js';
import { Mlp } from '../src/nn/mlp.js';
import { reluBackward, reluForward } from '../src/nn/relu.js';
import { mlpLayout } from '../src/model/layout.js';
import { Rng } from '../src/rng.js';
import { numericGradient, randomArray, relError } from './helpers/rel-error.js';

// Every hand-derived gradient against central finite differences, all in float64.
const TOL = 1e-6;
const rng = new Rng(1234);
const u = () => rng.uniform();

/** sum(out * R): a scalar whose gradient with respect to out is R, so backward(R) must match d/d input. */
function dotWith(out: Float64Array, R: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * R[i];
  return s;
}

describe('Lin backward', () => {
  for (const [rows, nIn, nOut] of [
    [1, 1, 1],
    [3, 5, 4],
    [7, 13, 6],
  ]) {
    it(`matches finite differences for x [${rows}, ${nIn}], W [${nOut}, ${nIn}]`, () => {
      const x = randomArray(rows * nIn, u);
      const W = randomArray(nOut * nIn, u);
      const b = randomArray(nOut, u);
      const R = randomArray(rows * nOut, u);
      const out = new Float64Array(rows * nOut);
      const f = () => {
        linForward(x, W, b, out, rows, nIn, nOut);
        return dotWith(out, R);
      };
      const dW = new Float64Array(nOut * nIn);
      const db = new Float64Array(nOut);
      const dx = new Float64Array(rows * nIn);
      linBackward(R, W, dx, rows, nIn, nOut);
      // the parameters' gradient as the slices pass forms it: the rows' dout ⊗ x summed in row order
      const factors = { rows, nIn, x, at: (r: number) => r * nIn, dout: R, doutStride: nOut };
      linWeightGrad(factors, 0, nOut, dW, db);
      expect(relError(dW, numericGradient(f, W))).toBeLessThan(TOL);
      expect(relError(db, numericGradient(f, b))).toBeLessThan(TOL);
      expect(relError(dx, numericGradient(f, x))).toBeLessThan(TOL);
      // a slice of the outputs gives those rows of the same gradient
      if (nOut > 2) {
        const part = new Float64Array(2 * nIn);
        const partB = new Float64Array(2);
        linWeightGrad(factors, 1, 3, part, partB);
        expect(Array.from(part)).toEqual(Array.from(dW.subarray(nIn, 3 * nIn)));
        expect(Array.from(partB)).toEqual(Array.from(db.subarray(1, 3)));
      }
    });
  }
});

describe('ReLU backward', () => {
  it('matches finite differences away from the kink', () => {
    const n = 40;
    // Keep inputs at least 0.1 from zero, where the derivative is defined.
    const z = Float64Array.from({ length: n }, (_, i) => (i % 2 ? 1 : -1) * (0.1 + u()));
    const R = randomArray(n, u);
    const h = new Float64Array(n);
    const f = () => {
      reluForward(z, h, n);
      return dotWith(h, R);
    };
    f();
    const dz = new Float64Array(n);
    reluBackward(h, R, dz, n);
    expect(relError(dz, numericGradient(f, z))).toBeLessThan(TOL);
    expect(Array.from(dz).filter((v, i) => z[i] < 0 && v !== 0)).toEqual([]);
  });
});

describe('softmax cross-entropy backward', () => {
  it('matches finite differences of the summed loss', () => {
    const rows = 5;
    const C = 7;
    const logits = randomArray(rows * C, u, 3);
    const labels = Int32Array.from({ length: rows }, (_, i) => (i * 3) % C);
    const losses = new Float64Array(rows);
    const f = () => {
      crossEntropyForward(logits, labels, losses, rows, C);
      return losses.reduce((a, v) => a + v, 0);
    };
    const d = new Float64Array(rows * C);
    crossEntropyBackward(logits, labels, d, rows, C);
    expect(relError(d, numericGradient(f, logits))).toBeLessThan(TOL);
  });
});

describe('the whole MLP with its loss', () => {
  for (const sizes of [
    [6, 5, 3],
    [9, 8, 7, 4],
    [12, 10, 6, 5, 3],
  ]) {
    it(`matches finite differences for sizes ${sizes.join('-')}`, () => {
      const layout = mlpLayout(sizes);
      const rows = 4;
      const model = new Mlp(layout, rows, Float64Array);
      const params = randomArray(layout.count, u, 0.8);
      const x = randomArray(rows * sizes[0], u);
      const labels = Int32Array.from({ length: rows }, (_, i) => i % sizes[sizes.length - 1]);
      const f = () => {
        model.input.set(x);
        return model.lossAndGradient(params, labels, rows, null).loss;
      };
      const grad = new Float64Array(layout.count);
      model.input.set(x);
      model.lossAndGradient(params, labels, rows, grad);
      const num = numericGradient(f, params);
      for (const t of layout.tensors) {
        const a = grad.subarray(t.offset, t.offset + t.length);
        const n = num.subarray(t.offset, t.offset + t.length);
        expect(relError(a, n), t.name).toBeLessThan(TOL);
      }
    });
  }
});
