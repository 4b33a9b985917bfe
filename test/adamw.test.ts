import { describe, expect, it } from 'vitest';
import { adamwScalars, adamwStep } from '../src/optim/adamw.js';
import { bytes, caseState, meanGradient, rowsPass, slicesPass, updateOptions, type Case } from './helpers/kernel-case.js';

// AdamW as torch.optim.AdamW computes it: the reference (src/optim/adamw.ts) by hand, then each
// kernel's slices pass against the reference applied to the kernel's own batch-mean gradient.
const f = Math.fround;

describe("AdamW with PyTorch's torch.optim.AdamW semantics", () => {
  it('two steps by hand: decoupled decay, moments, bias correction', () => {
    const [lr, wd, beta1, beta2, eps] = [0.01, 0.1, 0.9, 0.999, 1e-8];
    const params = new Float32Array([1, -2]);
    const m = new Float32Array(2);
    const v = new Float32Array(2);
    const grads = [
      [0.5, -1],
      [0.25, 0.5],
    ];
    const want = { p: [1, -2], m: [0, 0], v: [0, 0] };
    grads.forEach((g, i) => {
      const t = i + 1;
      adamwStep(params, Float64Array.from(g), m, v, { lr, weightDecay: wd, adamw: { beta1, beta2, eps, t } });
      for (let k = 0; k < 2; k++) {
        want.p[k] *= 1 - lr * wd;
        want.m[k] = beta1 * want.m[k] + (1 - beta1) * g[k];
        want.v[k] = beta2 * want.v[k] + (1 - beta2) * g[k] * g[k];
        const mHat = want.m[k] / (1 - beta1 ** t);
        const vHat = want.v[k] / (1 - beta2 ** t);
        want.p[k] -= (lr * mHat) / (Math.sqrt(vHat) + eps);
      }
      for (let k = 0; k < 2; k++) {
        expect(params[k]).toBeCloseTo(want.p[k], 6);
        expect(m[k]).toBeCloseTo(want.m[k], 7);
        expect(v[k]).toBeCloseTo(want.v[k], 9);
      }
    });
  });

  it('the per-step scalars are float64 functions of lr, wd and t', () => {
    const s = adamwScalars(0.01, 0.01, { beta1: 0.9, beta2: 0.999, eps: 1e-8, t: 3 });
    expect(s.decay).toBe(1 - 0.01 * 0.01);
    expect(s.stepSize).toBe(0.01 / (1 - 0.9 ** 3));
    expect(s.bc2Sqrt).toBe(Math.sqrt(1 - 0.999 ** 3));
    expect(f(s.stepSize)).not.toBe(s.stepSize);
  });
});

const CASES: Case[] = [
  { sizes: [784, 50, 10], rows: 33, density: 0.19, seed: 61 },
  { sizes: [785, 51, 49, 7], rows: 20, density: 0.3, seed: 62 },
];

for (const kernel of ['js', 'wasm'] as const) {
  describe(`${kernel} kernel: the AdamW update`, () => {
    for (const c of CASES) {
      it(`[${c.sizes}]: three steps, byte for byte the reference applied to the kernel's mean gradient, for plans cut for 1, 3 and 16 threads`, () => {
        const seen: Buffer[] = [];
        for (const planThreads of [1, 3, 16]) {
          const { state, layout } = caseState(c, { kernel, planThreads, momentum: true, variance: true });
          const k = state.kernel(0);
          const P = layout.count;
          const want = { p: state.storage.toModel(state.params), m: new Float32Array(P), v: new Float32Array(P) };
          for (let t = 1; t <= 3; t++) {
            const adamw = { beta1: 0.95 - 0.03 * t, beta2: 0.999, eps: 1e-8, t };
            const lr = 0.002 * t;
            rowsPass(k, c.rows, 7);
            const g = meanGradient(k, state, c.rows);
            adamwStep(want.p, g, want.m, want.v, { lr, weightDecay: 0.01, adamw });
            slicesPass(k, state, c.rows, updateOptions({ lr, momentum: 0, weightDecay: 0.01 }, c.rows, { adamw }));
          }
          expect(Buffer.from(bytes(state.storage.toModel(state.params))).equals(Buffer.from(bytes(want.p)))).toBe(true);
          expect(Buffer.from(bytes(state.storage.toModel(state.momentum!))).equals(Buffer.from(bytes(want.m)))).toBe(true);
          expect(Buffer.from(bytes(state.storage.toModel(state.variance!))).equals(Buffer.from(bytes(want.v)))).toBe(true);
          seen.push(Buffer.concat([Buffer.from(bytes(state.params)), Buffer.from(bytes(state.momentum!)), Buffer.from(bytes(state.variance!))]));
        }
        expect(seen[1].equals(seen[0]) && seen[2].equals(seen[0])).toBe(true);
      });
    }
  });
}
