import { describe, expect, it } from 'vitest';
import { createTrainer, loadDataset } from '../dist/index.js';
import type { SharedState } from '../src/engine/shared-state.js';
import type { Kernel } from '../src/kernels/kernel.js';
import { mlpLayout } from '../src/model/layout.js';
import { Mlp } from '../src/nn/mlp.js';
import { GaussianNoise } from '../src/privacy/noise.js';
import { caseData, caseState, relErr, rowsPass, slicesPass, updateOptions, type Case } from './helpers/kernel-case.js';

// Per-sample quantities from the factors each row leaves: gradient norms, Opacus's per-sample
// clipping, and DP noise, against the lesson's way (each row's gradient materialised by the
// reference model, in float64).
const CASES: Case[] = [
  { sizes: [784, 50, 10], rows: 40, density: 0.19, seed: 51 },
  { sizes: [785, 51, 49, 7], rows: 23, density: 0.3, seed: 52 },
];
/** the tolerance of each kernel against float64 materialised gradients: the js kernel sums in float64, the wasm kernel in float32 */
const TOL = { js: 1e-6, wasm: 2e-5 } as const;

/** Each batch row's own gradient (model layout, float64): the reference model on one row at a time. */
function perRowGradients(c: Case): Float64Array[] {
  const { data, model, ids, layout } = caseData(c);
  const mlp = new Mlp(layout, 1, Float64Array);
  const params = Float64Array.from(model);
  const nIn = c.sizes[0];
  return Array.from(ids, (i) => {
    mlp.input.set(data.train.x.subarray(i * nIn, (i + 1) * nIn));
    const g = new Float64Array(layout.count);
    mlp.lossAndGradient(params, Int32Array.of(data.train.y[i]), 1, g);
    return g;
  });
}

const norm = (g: Float64Array) => Math.sqrt(g.reduce((s, v) => s + v * v, 0));

/** The batch's summed-then-divided gradient the slices pass forms (model layout): with parameters at 0 and lr 1, each becomes -g. */
function slicesGradient(kernel: Kernel, state: SharedState, rows: number, dp: Parameters<typeof updateOptions>[2], meanOver = rows): Float32Array {
  const saved = state.params.slice();
  state.params.fill(0);
  slicesPass(kernel, state, rows, updateOptions({ lr: 1, momentum: 0, weightDecay: 0 }, meanOver, dp));
  const g = state.storage.toModel(state.params).map((v) => -v);
  state.params.set(saved);
  return g;
}

for (const kernelName of ['js', 'wasm'] as const) {
  describe(`${kernelName} kernel: per-sample gradients`, () => {
    for (const c of CASES) {
      it(`[${c.sizes}]: each row's gradient norm is the norm of its materialised gradient`, () => {
        const { state } = caseState(c, { kernel: kernelName });
        rowsPass(state.kernel(0), c.rows, 7);
        const want = perRowGradients(c).map(norm);
        const got = Array.from(state.factors.norm.subarray(0, c.rows));
        for (let r = 0; r < c.rows; r++) expect(Math.abs(got[r] - want[r]) / want[r], `row ${r}`).toBeLessThan(TOL[kernelName]);
      });

      it(`[${c.sizes}]: --clip scales each row's gradient by min(1, C / (norm + 1e-6)) before the sum, as Opacus does`, () => {
        const grads = perRowGradients(c);
        const norms = grads.map(norm);
        const sorted = [...norms].sort((a, b) => a - b);
        const C = sorted[sorted.length >> 1]; // half the rows clipped
        const want = new Float64Array(grads[0].length);
        for (let r = 0; r < c.rows; r++) {
          const f = Math.min(1, C / (norms[r] + 1e-6));
          for (let p = 0; p < want.length; p++) want[p] += (f * grads[r][p]) / c.rows;
        }
        const { state } = caseState(c, { kernel: kernelName });
        const k = state.kernel(0);
        rowsPass(k, c.rows, 5, undefined, C);
        for (let r = 0; r < c.rows; r++) expect(Math.abs(state.factors.norm[r] - norms[r]) / norms[r]).toBeLessThan(TOL[kernelName]); // the norm before clipping
        const layout = mlpLayout(c.sizes);
        const got = slicesGradient(k, state, c.rows, {}, c.rows);
        for (const t of layout.tensors) {
          expect(relErr(got.subarray(t.offset, t.offset + t.length), want.subarray(t.offset, t.offset + t.length)), t.name).toBeLessThan(TOL[kernelName]);
        }
        // and clipping changed the gradient (half the rows were over C)
        const unclipped = new Float64Array(want.length);
        for (const g of grads) for (let p = 0; p < g.length; p++) unclipped[p] += g[p] / c.rows;
        expect(relErr(want, unclipped)).toBeGreaterThan(1e-3);
      });
    }

    it('adds noiseStd times each parameter\'s normal to its summed gradient, then divides by meanOver', () => {
      const c: Case = { sizes: [785, 51, 7], rows: 9, density: 0.3, seed: 53 };
      const { state, layout } = caseState(c, { kernel: kernelName });
      const k = state.kernel(0);
      // an empty batch: the gradient is the noise alone
      const dp = { noiseStd: 2.5, noiseSeed: 77, noiseStep: 12 };
      const got = slicesGradient(k, state, 0, dp, 4);
      const ref = new GaussianNoise(77);
      const z = new Float64Array(785);
      const want = new Float64Array(layout.count);
      layout.linears.forEach((s, l) => {
        for (let j = 0; j < s.nOut; j++) {
          ref.weights(12, l, j, 0, s.nIn, z);
          for (let k = 0; k < s.nIn; k++) want[s.weight.offset + j * s.nIn + k] = (2.5 * z[k]) / 4;
        }
        ref.biases(12, l, 0, s.nOut, z);
        for (let j = 0; j < s.nOut; j++) want[s.bias.offset + j] = (2.5 * z[j]) / 4;
      });
      for (const t of layout.tensors) expect(relErr(got.subarray(t.offset, t.offset + t.length), want.subarray(t.offset, t.offset + t.length)), t.name).toBeLessThan(1e-5);
      // it is standard normal noise: mean and variance over the 40,000-odd parameters
      const n = want.length;
      const mean = want.reduce((a, v) => a + v, 0) / n / (2.5 / 4);
      const variance = want.reduce((a, v) => a + (v / (2.5 / 4)) ** 2, 0) / n;
      expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(n));
      expect(Math.abs(variance - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
      // another step, another seed: other noise; the padding of the stored parameters stays zero
      expect(relErr(slicesGradient(k, state, 0, { ...dp, noiseStep: 13 }, 4), got)).toBeGreaterThan(0.5);
      expect(relErr(slicesGradient(k, state, 0, { ...dp, noiseSeed: 78 }, 4), got)).toBeGreaterThan(0.5);
      expect(Buffer.from(slicesGradient(k, state, 0, dp, 4).buffer).equals(Buffer.from(got.buffer))).toBe(true);
      const stored = state.params.slice();
      state.params.fill(0);
      slicesPass(k, state, 0, updateOptions({ lr: 1, momentum: 0, weightDecay: 0 }, 4, dp));
      const back = new Float32Array(state.params.length);
      state.storage.store(state.storage.toModel(state.params), back);
      expect(Buffer.from(state.params.buffer, state.params.byteOffset, state.params.byteLength).equals(Buffer.from(back.buffer))).toBe(true);
      state.params.set(stored);
    });
  });
}

// The engine runs worker threads, which load the built code: these use dist/.
describe('Engine.perSample: the rows pass alone', () => {
  it('leaves the parameters as they are and finds the norms and losses a training step finds, at any thread count', async () => {
    const data = loadDataset({ data: 'test/fixtures/idx' });
    const ids = Int32Array.from({ length: 37 }, (_, i) => (i * 7) % data.train.n);
    const seen: Buffer[] = [];
    for (const threads of [1, 3]) {
      const { engine } = createTrainer(data, { threads, batchSize: 40, seed: 5 });
      try {
        const before = engine.weights();
        await engine.perSample(ids);
        expect(Buffer.from(engine.weights().buffer).equals(Buffer.from(before.buffer))).toBe(true);
        const f = engine.state.factors;
        const norms = f.norm.slice(0, ids.length);
        const losses = f.loss.slice(0, ids.length);
        expect(norms.every((v) => v > 0)).toBe(true);
        // a clipped step reports the same norms and losses: they are measured before clipping and the update
        const stats = await engine.step(ids, { lr: 0.1, momentum: 0, weightDecay: 0, clip: 0.01 });
        expect(Buffer.from(f.norm.slice(0, ids.length).buffer).equals(Buffer.from(norms.buffer))).toBe(true);
        expect(stats.loss).toBe(losses.reduce((a, v) => a + v, 0));
        seen.push(Buffer.concat([Buffer.from(norms.buffer), Buffer.from(losses.buffer)]));
      } finally {
        await engine.close();
      }
    }
    expect(seen[1].equals(seen[0])).toBe(true);
  });
});
