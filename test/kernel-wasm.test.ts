/**
 * The WebAssembly SIMD kernel against the reference (js) kernel, and its determinism.
 * Needs the built .wasm: `npm run build` first (npm test does it).
 *
 * Agreement is measured per tensor as   relErr(a, b) = max_i |a_i - b_i| / max(max_i |b_i|, 1e-30)
 * with b the reference (float64 sums, float32 storage) and a the kernel (float32 sums); it must stay
 * below 1e-5 for every row's loss, every gradient tensor and the predictions; correct counts must
 * be equal.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Arena } from '../src/engine/arena.js';
import { SharedState } from '../src/engine/shared-state.js';
import { KERNELS, paramStorage } from '../src/kernels/create.js';
import { KERNEL_NAMES } from '../src/kernels/kernel.js';
import { kernelModule } from '../src/kernels/wasm/module.js';
import { WasmKernel } from '../src/kernels/wasm-kernel.js';
import { Rng } from '../src/rng.js';
import { bytes, caseData, caseState, updateOptions, meanGradient, referenceGradient, relErr, rowsPass, slicesPass, type Case } from './helpers/kernel-case.js';

const TOL = 1e-5;
const VARIANTS = (['simd', 'relaxed'] as const).filter((v) => kernelModule(v) !== null);

function wasmKernel(state: SharedState, variant: 'simd' | 'relaxed' = 'simd', scratch = 0): WasmKernel {
  return new WasmKernel(state.kernelContext(scratch), { variant });
}

function expectAgreement(c: Case, variant: 'simd' | 'relaxed'): void {
  const { state } = caseState(c, { kernel: 'wasm' });
  const k = wasmKernel(state, variant);
  rowsPass(k, c.rows, 7);
  const ref = referenceGradient(c);
  expect(relErr(state.factors.loss.subarray(0, c.rows), ref.losses), 'per-row losses').toBeLessThan(TOL);
  expect(state.factors.correct.subarray(0, c.rows).reduce((a, b) => a + b, 0)).toBe(ref.stats.correct);
  const g = meanGradient(k, state, c.rows);
  for (const t of ref.layout.tensors) {
    const e = relErr(g.subarray(t.offset, t.offset + t.length), ref.mean.subarray(t.offset, t.offset + t.length));
    expect(e, `${t.name} [${t.shape}]`).toBeLessThan(TOL);
  }
  // evaluation against the reference kernel's
  const js = caseState(c, { kernel: 'js' }).state;
  const C = c.sizes[c.sizes.length - 1];
  const split = state.split('valid');
  const preds = new Float32Array(split.n * C);
  const want = new Float32Array(split.n * C);
  const ev = k.evaluate(split, 0, split.n, preds);
  const refEv = js.kernel(0).evaluate(js.split('valid'), 0, split.n, want);
  expect(relErr(preds, want), 'predictions').toBeLessThan(TOL);
  expect(relErr([ev.loss], [refEv.loss]), 'evaluate loss').toBeLessThan(TOL);
  expect(ev.correct).toBe(refEv.correct);
  expect(k.evaluate(split, 0, split.n)).toEqual(ev); // without predictions: the same stats
}

// Widths and row counts from {1, 3, 5, 7, 49, 50, 51, 784, 785}: not multiples of the vector width
// (4) nor of the blocks (1..8 vectors), one to three hidden layers, sparse and dense inputs.
const CASES: Case[] = [
  { sizes: [784, 50, 10], rows: 50, density: 0.19, seed: 1 }, // the MNIST model, MNIST-like input
  { sizes: [784, 50, 10], rows: 7, density: 1, seed: 2 },
  { sizes: [785, 51, 7], rows: 49, density: 0.2, seed: 3 },
  { sizes: [785, 7], rows: 51, density: 0.5, seed: 4 }, // no hidden layer
  { sizes: [784, 49, 50, 10], rows: 5, density: 1, seed: 5 },
  { sizes: [1, 3, 5, 7], rows: 785, density: 1, seed: 6 },
  { sizes: [7, 785, 3], rows: 3, density: 1, seed: 7 },
  { sizes: [50, 1, 5], rows: 51, density: 1, seed: 8 }, // a hidden layer of one unit
  { sizes: [5, 7, 49, 3, 51], rows: 1, density: 0.3, seed: 9 }, // three hidden layers
  { sizes: [49, 784, 51], rows: 50, density: 1, seed: 10 },
  { sizes: [3, 5, 1], rows: 7, density: 1, seed: 11 }, // one class: loss 0, gradient 0
  { sizes: [51, 49, 5, 7, 3], rows: 784, density: 0.05, seed: 12 },
];

/** A few more shapes drawn at random from the same sets (the draw is seeded), small enough for the reference. */
function randomCases(count: number): Case[] {
  const rng = new Rng(2024);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rng.uniform() * a.length)];
  const SET = [1, 3, 5, 7, 49, 50, 51, 784, 785];
  const out: Case[] = [];
  while (out.length < count) {
    const sizes = Array.from({ length: 2 + Math.floor(rng.uniform() * 4) }, () => pick(SET));
    const rows = pick(SET);
    let work = 0;
    for (let l = 0; l + 1 < sizes.length; l++) work += rows * sizes[l] * sizes[l + 1];
    if (work > 3e6) continue;
    out.push({ sizes, rows, density: pick([0.1, 0.19, 0.5, 1]), seed: 100 + out.length });
  }
  return out;
}

describe('wasm kernel agrees with the js reference', () => {
  for (const variant of VARIANTS) {
    for (const c of [...CASES, ...randomCases(8)]) {
      it(`${variant}: [${c.sizes}] x ${c.rows} rows, density ${c.density}`, () => expectAgreement(c, variant));
    }
  }

  it('moves the parameters as the reference does with momentum and weight decay, step after step', () => {
    const c: Case = { sizes: [785, 51, 7], rows: 49, density: 0.2, seed: 31 };
    const opt = { lr: 0.05, momentum: 0.9, weightDecay: 0.001 };
    const [js, wasm] = (['js', 'wasm'] as const).map((kernel) => {
      const { state } = caseState(c, { kernel, momentum: true });
      const k = state.kernel(0);
      for (let step = 0; step < 3; step++) {
        rowsPass(k, c.rows, 16);
        slicesPass(k, state, c.rows, opt);
      }
      return { params: state.storage.toModel(state.params), buf: state.storage.toModel(state.momentum!) };
    });
    expect(relErr(wasm.params, js.params)).toBeLessThan(TOL);
    expect(relErr(wasm.buf, js.buf)).toBeLessThan(TOL);
    expect(relErr(js.params, caseState(c, { kernel: 'js' }).model)).toBeGreaterThan(1e-3); // it did move them
  });
});

describe('wasm kernel determinism', () => {
  const c: Case = { sizes: [785, 51, 49, 10], rows: 33, density: 0.19, seed: 77 };
  /** the factors and mean gradient of the case on a kernel of `state` (scratch region `scratch`), rows in items of itemRows */
  const run = (state: SharedState, scratch: number, itemRows: number, variant: 'simd' | 'relaxed' = 'simd') => {
    const k = wasmKernel(state, variant, scratch);
    rowsPass(k, c.rows, itemRows);
    const f = state.factors;
    const g = meanGradient(k, state, c.rows);
    return Buffer.concat([...f.douts, ...f.inputs, f.loss, f.correct, f.listCuts!].map(bytes).concat(bytes(g)));
  };

  it('gives the same bytes from different instances, scratch regions, item cuts and call orders', () => {
    for (const variant of VARIANTS) {
      const { state } = caseState(c, { kernel: 'wasm' });
      const a = run(state, 0, 33, variant);
      state.factors.douts.forEach((d) => d.fill(NaN));
      const k = wasmKernel(state, variant, 1);
      for (let lo = 32; lo >= 0; lo -= 3) k.trainRows(lo, Math.min(33, lo + 3), 99); // backwards, in threes
      k.evaluate(state.split('valid'), 0, 5); // an evaluation in between
      const b = run(state, 1, 5, variant);
      expect(b.equals(a)).toBe(true);
    }
  });

  it('does not read scratch left by earlier calls', () => {
    for (const variant of VARIANTS) {
      const fresh = run(caseState(c, { kernel: 'wasm' }).state, 0, 4, variant);
      const { state } = caseState(c, { kernel: 'wasm' });
      const r = state.setup.scratch[0];
      new Float32Array(state.setup.memory.buffer, r.byteOffset + 4096, (r.length - 4096) >> 2).fill(NaN); // past the header
      state.factors.inputs.forEach((x) => x.fill(NaN));
      expect(run(state, 0, 4, variant).equals(fresh)).toBe(true);
    }
  });

  it('gives the same bytes in another memory at other addresses', () => {
    const a = caseState(c, { kernel: 'wasm' });
    const arena = new Arena();
    arena.alloc('u8', 12345); // shift every later region
    const b = caseState(c, { kernel: 'wasm', arena });
    expect(b.state.params.byteOffset).not.toBe(a.state.params.byteOffset);
    expect(run(b.state, 0, 7).equals(run(a.state, 0, 7))).toBe(true);
  });

  it('gives the same bytes on a worker thread with its own instance', async () => {
    const { state } = caseState(c, { kernel: 'wasm' });
    const dir = mkdtempSync(join(tmpdir(), 'kernel-wasm-'));
    const file = join(dir, 'worker.mjs');
    const dist = (p: string) => JSON.stringify(new URL(`../dist/${p}`, import.meta.url).href);
    writeFileSync(
      file,
      `import { parentPort, workerData } from 'node:worker_threads';
       import { SharedState } from ${dist('engine/shared-state.js')};
       const state = SharedState.attach(workerData);
       const k = state.kernel(1);
       for (let lo = 0; lo < state.batch.length; lo += 2) k.trainRows(lo, Math.min(state.batch.length, lo + 2), 7);
       parentPort.postMessage('done');`,
    );
    await new Promise((resolve, reject) => {
      const worker = new Worker(file, { workerData: state.setup });
      worker.once('message', (m) => {
        resolve(m);
        void worker.terminate();
      });
      worker.once('error', reject);
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
    const f = state.factors;
    const theirs = Buffer.concat([...f.douts, ...f.inputs, f.loss, f.correct, f.listCuts!].map((a) => Buffer.from(bytes(a))));
    const mine = run(caseState(c, { kernel: 'wasm' }).state, 0, 33);
    expect(mine.subarray(0, theirs.length).equals(theirs)).toBe(true);
  });
});

describe('wasm kernel determinism across V8 tiers', () => {
  // V8 first runs wasm from its baseline compiler (Liftoff), then from its optimizing one (TurboFan)
  // once a function is hot: a call's bytes must not depend on which code it ran, i.e. on earlier
  // calls. Each child process below hashes the same step's factors and update with one tier forced.
  it('gives the same bytes with Liftoff only, TurboFan only, and tiering up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernel-wasm-tiers-'));
    const file = join(dir, 'tiers.mjs');
    const dist = (p: string) => JSON.stringify(new URL(`../dist/${p}`, import.meta.url).href);
    writeFileSync(
      file,
      `import { createHash } from 'node:crypto';
       import { Arena } from ${dist('engine/arena.js')};
       import { SharedState } from ${dist('engine/shared-state.js')};
       import { kernelModule } from ${dist('kernels/wasm/module.js')};
       import { WasmKernel } from ${dist('kernels/wasm-kernel.js')};
       import { Rng } from ${dist('rng.js')};
       const rng = new Rng(9);
       const n = 40, nIn = 785, rows = 33, sizes = [785, 51, 49, 10];
       const fill = (a, f) => { for (let i = 0; i < a.length; i++) a[i] = f(); return a; };
       const x = fill(new Float32Array(n * nIn), () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
       const y = fill(new Int32Array(n), () => Math.floor(rng.uniform() * 10));
       const split = { x, y, n, nIn };
       const model = fill(new Float32Array(785 * 51 + 51 + 51 * 49 + 49 + 49 * 10 + 10), () => rng.uniform() - 0.5);
       const ids = fill(new Int32Array(rows), () => Math.floor(rng.uniform() * n));
       const reps = Number(process.argv[2]);
       const out = [];
       for (const variant of ['simd', 'relaxed'].filter((v) => kernelModule(v) !== null)) {
         const state = SharedState.create(new Arena(), { train: split, valid: split, nIn, nClasses: 10, source: 't' }, { sizes, batchSize: rows, kernel: 'wasm', threads: 1, planThreads: 3, momentum: true });
         state.batch.set(ids);
         const k = new WasmKernel(state.kernelContext(0), { variant });
         const hashes = new Set();
         for (let r = 0; r < reps; r++) {
           state.storage.store(model, state.params);
           state.momentum.fill(0);
           for (let lo = 0; lo < rows; lo += 5) k.trainRows(lo, Math.min(rows, lo + 5), r + 1);
           for (let s = 0; s < state.plan.slices.length; s++) k.updateSlice(s, rows, { lr: 0.1, momentum: 0.9, weightDecay: 0.01, meanOver: rows, noiseStd: 0, noiseSeed: 0, noiseStep: 0 }, r + 1);
           if (r === 0 || r === reps - 1) {
             const h = createHash('sha256');
             for (const a of [...state.factors.douts, ...state.factors.inputs, state.factors.loss, state.params, state.momentum]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
             hashes.add(h.digest('hex'));
           }
         }
         out.push(variant + ':' + [...hashes].join(','));
       }
       console.log(out.join(' '));`,
    );
    const run = (flags: string[], reps: number) => execFileSync(process.execPath, [...flags, file, String(reps)], { encoding: 'utf8' }).trim();
    let liftoff: string, turbofan: string, tiering: string;
    try {
      liftoff = run(['--liftoff', '--no-wasm-tier-up'], 1);
      turbofan = run(['--no-liftoff'], 1);
      tiering = run([], 300); // enough calls to tier up; hashes the first and the last call, one entry if they agree
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(liftoff.split(' ').length).toBeGreaterThanOrEqual(1);
    expect(liftoff).not.toContain(',');
    expect(turbofan).toBe(liftoff);
    expect(tiering).toBe(liftoff);
  });
});

describe('wasm kernel: rows with -0, NaN and no non-zero input', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: lists -0 and NaN pixels as evaluation does, and takes an empty row`, () => {
      const c: Case = { sizes: [784, 50, 10], rows: 25, density: 0.19, seed: 27 };
      const { data, model, ids } = caseData(c);
      const x = data.train.x;
      const rng = new Rng(5);
      const xb = new Int32Array(x.buffer, x.byteOffset, x.length);
      for (let i = 0; i < x.length; i++) {
        if (rng.uniform() < 0.05) x[i] = -0;
        else if (rng.uniform() < 0.002) xb[i] = 0x7fc00000 | Math.floor(rng.uniform() * 1000); // NaN with payloads
      }
      x.subarray(0, 784).fill(0); // sample 0 has no non-zero input
      ids[2] = 0;
      const state = SharedState.create(new Arena(), data, { sizes: c.sizes, batchSize: c.rows, kernel: 'wasm', threads: 1, planThreads: 1 });
      state.storage.store(model, state.params);
      state.batch.set(ids);
      const k = wasmKernel(state, variant);
      rowsPass(k, c.rows, 4);
      const train = state.split('train');
      expect(train.nonZero!.start[1]).toBe(0);
      // the rows pass reads the index, evaluation lists each row itself: the same loss, bit for bit
      const loss = state.factors.loss;
      for (let r = 0; r < c.rows; r++) {
        const i = state.batch[r];
        const single = k.evaluate(train, i, i + 1);
        expect(Object.is(single.loss, loss[r]) || (Number.isNaN(single.loss) && Number.isNaN(loss[r])), `row ${r}`).toBe(true);
      }
    });
  }
});

describe('wasm kernel memory and errors', () => {
  const c: Case = { sizes: [51, 7, 5], rows: 9, density: 0.5, seed: 5 };

  it('writes only its state and its own scratch', () => {
    const arena = new Arena();
    const guard = () => arena.alloc('u8', 256).fill(0xa5);
    const before = guard();
    const { state, data, ids } = caseState(c, { kernel: 'wasm', arena });
    const after = guard();
    const x = state.split('train').x.slice();
    const k = state.kernel(0);
    rowsPass(k, c.rows, 4);
    slicesPass(k, state, c.rows, { lr: 0.1, momentum: 0, weightDecay: 0 });
    k.evaluate(state.split('valid'), 0, data.valid.n);
    expect(before.every((v) => v === 0xa5)).toBe(true);
    expect(after.every((v) => v === 0xa5)).toBe(true);
    expect(state.split('train').x).toEqual(x);
    expect(Array.from(state.batch)).toEqual(Array.from(ids));
  });

  it('copies predictions out when they are not in the shared memory', () => {
    const { state, arena } = caseState(c, { kernel: 'wasm' });
    const k = state.kernel(0);
    const split = state.split('valid');
    const nClasses = c.sizes[c.sizes.length - 1];
    const shared = arena.alloc('f32', split.n * nClasses);
    const plain = new Float32Array(split.n * nClasses);
    expect(k.evaluate(split, 0, split.n, plain)).toEqual(k.evaluate(split, 0, split.n, shared));
    expect(plain).toEqual(shared);
    for (let r = 0; r < split.n; r++) expect(plain.subarray(r * nClasses, (r + 1) * nClasses).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('rejects out-of-range sample ids, labels and rows', () => {
    const { state } = caseState(c, { kernel: 'wasm' });
    const k = state.kernel(0);
    const n = state.split('train').n;
    state.batch[3] = n;
    expect(() => k.trainRows(0, c.rows, 1)).toThrow(/sample id/);
    state.batch[3] = -1;
    expect(() => k.trainRows(0, c.rows, 1)).toThrow(/sample id/);
    state.batch[3] = 0;
    k.trainRows(0, c.rows, 1);
    state.split('train').y[state.batch[0]] = c.sizes[c.sizes.length - 1];
    expect(() => k.trainRows(0, 1, 1)).toThrow(/label/);
    expect(() => k.trainRows(0, c.rows + 1, 1)).toThrow(RangeError);
    expect(() => k.trainRows(-1, 2, 1)).toThrow(RangeError);
    expect(() => k.evaluate(state.split('valid'), 0, state.split('valid').n + 1)).toThrow(RangeError);
    expect(() => k.updateSlice(state.plan.slices.length, c.rows, updateOptions({ lr: 0.1, momentum: 0, weightDecay: 0 }, c.rows), 1)).toThrow(RangeError);
    expect(() => k.updateSlice(0, c.rows, updateOptions({ lr: 0.1, momentum: 0.9, weightDecay: 0 }, c.rows), 1)).toThrow(/momentum/);
    expect(k.evaluate(state.split('valid'), 1, 1)).toEqual({ loss: 0, correct: 0 });
  });

  it('checks the non-zero lists once, when it is made, and refuses lists that do not fit their rows', () => {
    const { state } = caseState(c, { kernel: 'wasm' });
    const nz = state.split('train').nonZero!;
    const i = state.batch[0];
    const t = nz.start[i];
    const saved = nz.index[t];
    nz.index[t] = 51; // an input outside the row
    expect(() => state.kernel(0)).toThrow(/non-zero list/);
    nz.index[t] = -1;
    expect(() => state.kernel(0)).toThrow(/non-zero list/);
    nz.index[t] = nz.index[t + 1]; // out of order
    expect(() => state.kernel(0)).toThrow(/non-zero list/);
    nz.index[t] = saved;
    expect(() => state.kernel(0)).not.toThrow();
    const ctx = state.kernelContext(0);
    expect(() => new WasmKernel({ ...ctx, step: { ...ctx.step, train: { ...ctx.step.train!, nonZero: undefined } } })).toThrow(/non-zero lists/);
    expect(() => new WasmKernel({ ...ctx, step: { ...ctx.step, params: ctx.step.params.slice() } })).toThrow(TypeError);
    expect(() => new WasmKernel({ ...ctx, scratch: ctx.scratch.subarray(0, 128) })).toThrow(/scratch/);
  });

  it('is registered as the kernel "wasm", with its storage', () => {
    expect(KERNEL_NAMES).toContain('wasm');
    const { state, layout } = caseState(c, { kernel: 'wasm' });
    expect(state.kernel(0).name).toBe('wasm');
    expect(paramStorage('wasm', layout).count).toBe(state.params.length);
    expect(KERNELS.wasm.scratchBytes(state.storage, state.plan, 500)).toBeGreaterThan(0);
  });
});
