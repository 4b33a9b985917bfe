/**
 * The WebAssembly SIMD kernel against the reference (js) kernel, path by path, and its determinism.
 * Needs the built .wasm: `npm run build` first (npm test does it).
 *
 * Agreement is measured per tensor as   relErr(a, b) = max_i |a_i - b_i| / max(max_i |b_i|, 1e-30)
 * with b the reference (float64 sums, float32 storage) and a the kernel (float32 sums); it must stay
 * below 1e-5 for every gradient tensor, the loss sum and the predictions; the correct counts must
 * be equal.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { Split } from '../src/data/dataset.js';
import { buildNonZeroIndex } from '../src/data/non-zero-index.js';
import { arenaAllocator } from '../src/engine/arena-allocator.js';
import { Arena } from '../src/engine/arena.js';
import { createKernel, kernelScratchBytes, paramStorage } from '../src/kernels/create.js';
import { KERNEL_NAMES } from '../src/kernels/kernel.js';
import { kernelModule } from '../src/kernels/wasm/module.js';
import type { WasmPath } from '../src/kernels/wasm/plan.js';
import { WasmKernel, wasmParamStorage, type WasmKernelOptions } from '../src/kernels/wasm-kernel.js';
import { mlpLayout, type MlpLayout } from '../src/model/layout.js';
import { Mlp } from '../src/nn/mlp.js';
import { Rng } from '../src/rng.js';

const TOL = 1e-5;
const PATHS: WasmPath[] = ['sparse', 'dense', 'auto'];
const VARIANTS = (['simd', 'relaxed'] as const).filter((v) => kernelModule(v) !== null);

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

interface Case {
  sizes: number[];
  rows: number;
  /** fraction of non-zero inputs: < 1 is MNIST-like (exact zeros, values in (0, 1]), 1 is dense in [-1, 1) */
  density: number;
  seed: number;
}

/** A model, a dataset and a chunk, all in one arena, like the trainer lays them out. */
function setup(c: Case, arena = new Arena()) {
  const rng = new Rng(c.seed);
  const layout = mlpLayout(c.sizes);
  const nIn = c.sizes[0];
  const nClasses = c.sizes[c.sizes.length - 1];
  const n = Math.max(2, Math.ceil(c.rows / 2) + 1); // fewer samples than rows: idx must repeat ids
  const x = arena.alloc('f32', n * nIn);
  for (let i = 0; i < x.length; i++) {
    if (c.density < 1) x[i] = rng.uniform() < c.density ? 1 - rng.uniform() : 0;
    else x[i] = 2 * rng.uniform() - 1;
  }
  const y = arena.alloc('i32', n);
  for (let i = 0; i < n; i++) y[i] = Math.floor(rng.uniform() * nClasses);
  // the weights in the model layout (the reference's), and as the wasm kernel stores them
  const model = new Float32Array(layout.count);
  for (const l of layout.linears) {
    const scale = Math.sqrt(6 / l.nIn) / (c.density < 1 ? Math.sqrt(c.density) : 1);
    for (let i = 0; i < l.weight.length; i++) model[l.weight.offset + i] = (rng.uniform() - 0.5) * scale;
    for (let i = 0; i < l.bias.length; i++) model[l.bias.offset + i] = (rng.uniform() - 0.5) * 0.2;
  }
  const storage = wasmParamStorage(layout);
  const params = arena.alloc('f32', storage.count);
  storage.store(model, params);
  // the chunk sits at [lo, hi) of a longer idx, out of order, with repeats
  const lo = 2;
  const idx = arena.alloc('i32', c.rows + 4);
  for (let i = 0; i < idx.length; i++) idx[i] = Math.floor(rng.uniform() * n);
  if (c.rows >= 2) idx[lo + 1] = idx[lo];
  const data: Split = { x, y, n, nIn };
  return { arena, layout, storage, P: storage.count, data, model, params, idx, lo, hi: lo + c.rows };
}

function wasmKernel(arena: Arena, layout: MlpLayout, maxRows: number, opts: WasmKernelOptions = {}): WasmKernel {
  const scratch = arena.alloc('u8', kernelScratchBytes('wasm', layout, maxRows));
  return new WasmKernel({ layout, maxRows, memory: arena.memory, scratch }, opts);
}

/** The kernel's gradient of the case's chunk, grad pre-filled with NaN to check it is overwritten. */
function runGradient(k: WasmKernel, s: ReturnType<typeof setup>) {
  const grad = s.arena.alloc('f32', s.P).fill(NaN);
  const stats = k.gradient(s.params, s.data, s.idx, s.lo, s.hi, grad);
  return { grad, stats };
}

function reference(s: ReturnType<typeof setup>, rows: number) {
  const ref = new Mlp(s.layout, Math.max(rows, s.data.n));
  const grad = new Float32Array(s.layout.count);
  const stats = ref.gradient(s.model, s.data, s.idx, s.lo, s.hi, grad);
  const nClasses = s.layout.sizes[s.layout.sizes.length - 1];
  const preds = new Float32Array(s.data.n * nClasses);
  const evalStats = ref.evaluate(s.model, s.data, 0, s.data.n, preds);
  return { grad, stats, preds, evalStats };
}

function expectAgreement(c: Case, path: WasmPath, variant: 'simd' | 'relaxed'): void {
  const s = setup(c);
  const ref = reference(s, c.rows);
  const k = wasmKernel(s.arena, s.layout, Math.max(c.rows, s.data.n), { path, variant });
  const { grad: stored, stats } = runGradient(k, s);
  // the slot holds the gradient as the parameters are stored (first dW transposed), its padding zero
  const grad = s.storage.toModel(stored);
  const again = new Float32Array(s.P);
  s.storage.store(grad, again);
  expect(bytes(again).equals(bytes(stored)), 'the stored gradient is its model-layout values, padding zero').toBe(true);
  for (const t of s.layout.tensors) {
    const e = relErr(grad.subarray(t.offset, t.offset + t.length), ref.grad.subarray(t.offset, t.offset + t.length));
    expect(e, `${t.name} [${t.shape}]`).toBeLessThan(TOL);
  }
  expect(relErr([stats.loss], [ref.stats.loss]), 'gradient loss').toBeLessThan(TOL);
  expect(stats.correct).toBe(ref.stats.correct);

  const nClasses = s.layout.sizes[s.layout.sizes.length - 1];
  const preds = s.arena.alloc('f32', s.data.n * nClasses).fill(NaN);
  const ev = k.evaluate(s.params, s.data, 0, s.data.n, preds);
  expect(relErr(preds, ref.preds), 'predictions').toBeLessThan(TOL);
  expect(relErr([ev.loss], [ref.evalStats.loss]), 'evaluate loss').toBeLessThan(TOL);
  expect(ev.correct).toBe(ref.evalStats.correct);
  // without predictions: the same stats
  expect(k.evaluate(s.params, s.data, 0, s.data.n)).toEqual(ev);
}

// Widths and row counts from {1, 3, 5, 7, 49, 50, 51, 784, 785}: not multiples of the vector width
// (4) nor of the tiles (2x4, 4x2, blocks of 1..8 vectors), one to three hidden layers, sparse and dense.
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
      it(`${variant}: [${c.sizes}] x ${c.rows} rows, density ${c.density}, paths ${PATHS.join('/')}`, () => {
        for (const path of PATHS) expectAgreement(c, path, variant);
      });
    }
  }

  it('runs on MNIST-like data with as many rows as its scratch allows (an evaluation chunk)', () => {
    const c: Case = { sizes: [784, 50, 10], rows: 500, density: 0.19, seed: 42 };
    expectAgreement(c, 'auto', 'simd');
  });
});

describe('wasm kernel determinism', () => {
  const c: Case = { sizes: [785, 51, 49, 10], rows: 33, density: 0.19, seed: 77 };

  it('gives the same bytes from different instances, scratch regions and call orders', () => {
    for (const variant of VARIANTS) {
      const s = setup(c);
      const other = { ...s, lo: 0, hi: 17 }; // another chunk, to call in between
      const k1 = wasmKernel(s.arena, s.layout, 40, { variant });
      const k2 = wasmKernel(s.arena, s.layout, 500, { variant }); // a different scratch size and layout
      const a1 = runGradient(k1, s);
      const b1 = runGradient(k1, other);
      k1.evaluate(s.params, s.data, 0, s.data.n);
      const a1again = runGradient(k1, s);
      const b2 = runGradient(k2, other);
      const a2 = runGradient(k2, s);
      expect(bytes(a1again.grad).equals(bytes(a1.grad))).toBe(true);
      expect(bytes(a2.grad).equals(bytes(a1.grad))).toBe(true);
      expect(bytes(b2.grad).equals(bytes(b1.grad))).toBe(true);
      expect(a2.stats).toEqual(a1.stats);
      expect(a1again.stats).toEqual(a1.stats);
      expect(b2.stats).toEqual(b1.stats);
    }
  });

  it('does not read scratch left by earlier calls (unused input groups, NaN-filled scratch)', () => {
    // MNIST-like rows whose non-zero inputs lie in different places: the sparse path transposes W and
    // zeroes dW^T only for the input groups some row of the chunk uses, so rows of those buffers that
    // the current chunk does not use hold whatever an earlier call left there
    const m: Case = { sizes: [785, 50, 10], rows: 9, density: 0.19, seed: 78 };
    for (const variant of VARIANTS) {
      for (const path of ['sparse', 'auto'] as const) {
        const s = setup(m);
        // the chunk's rows use only inputs [300, 500): others zero
        for (let r = 0; r < s.data.n; r++) for (let k = 0; k < 785; k++) if (k < 300 || k >= 500) s.data.x[r * 785 + k] = 0;
        const fresh = runGradient(wasmKernel(s.arena, s.layout, 16, { variant, path }), s);
        const scratch = s.arena.alloc('u8', kernelScratchBytes('wasm', s.layout, 16));
        const k = new WasmKernel({ layout: s.layout, maxRows: 16, memory: s.arena.memory, scratch }, { variant, path });
        new Float32Array(scratch.buffer, scratch.byteOffset + 4096, (scratch.byteLength - 4096) >> 2).fill(NaN); // past the header
        const dirty = runGradient(k, s);
        expect(bytes(dirty.grad).equals(bytes(fresh.grad))).toBe(true);
        expect(dirty.stats).toEqual(fresh.stats);
        // a dense chunk in between writes every row of those buffers
        const dense = setup({ ...m, density: 1 }, s.arena);
        runGradient(k, dense);
        const after = runGradient(k, s);
        expect(bytes(after.grad).equals(bytes(fresh.grad))).toBe(true);
        expect(Array.from(fresh.grad).every(Number.isFinite)).toBe(true);
      }
    }
  });

  it('gives the same bytes in another memory at other addresses', () => {
    const s1 = setup(c);
    const arena2 = new Arena();
    arena2.alloc('u8', 12345); // shift every later region
    const s2 = setup(c, arena2);
    const g1 = runGradient(wasmKernel(s1.arena, s1.layout, 33), s1);
    const g2 = runGradient(wasmKernel(s2.arena, s2.layout, 33), s2);
    expect(s2.params.byteOffset).not.toBe(s1.params.byteOffset);
    expect(bytes(g2.grad).equals(bytes(g1.grad))).toBe(true);
    expect(g2.stats).toEqual(g1.stats);
  });

  it('gives the same bytes on a worker thread with its own instance', async () => {
    const s = setup(c);
    const mine = runGradient(wasmKernel(s.arena, s.layout, 33), s);
    const theirs = s.arena.alloc('f32', s.P).fill(NaN);
    const scratch = s.arena.alloc('u8', kernelScratchBytes('wasm', s.layout, 33));
    const dir = mkdtempSync(join(tmpdir(), 'kernel-wasm-'));
    const file = join(dir, 'worker.mjs');
    const kernelUrl = new URL('../dist/kernels/wasm-kernel.js', import.meta.url).href;
    writeFileSync(
      file,
      `import { parentPort, workerData as w } from 'node:worker_threads';
       import { WasmKernel } from ${JSON.stringify(kernelUrl)};
       const { mlpLayout } = await import(${JSON.stringify(new URL('../dist/model/layout.js', import.meta.url).href)});
       const m = w.memory;
       const f32 = (r) => new Float32Array(m.buffer, r[0], r[1]);
       const i32 = (r) => new Int32Array(m.buffer, r[0], r[1]);
       const layout = mlpLayout(w.sizes);
       const k = new WasmKernel({ layout, maxRows: 33, memory: m, scratch: new Uint8Array(m.buffer, w.scratch[0], w.scratch[1]) });
       const stats = k.gradient(f32(w.params), { x: f32(w.x), y: i32(w.y), n: w.n, nIn: w.sizes[0] }, i32(w.idx), w.lo, w.hi, f32(w.grad));
       parentPort.postMessage(stats);`,
    );
    const region = (a: Float32Array | Int32Array | Uint8Array) => [a.byteOffset, a.length];
    const stats = await new Promise((resolve, reject) => {
      const worker = new Worker(file, {
        workerData: {
          memory: s.arena.memory,
          sizes: c.sizes,
          params: region(s.params),
          x: region(s.data.x),
          y: region(s.data.y),
          n: s.data.n,
          idx: region(s.idx),
          lo: s.lo,
          hi: s.hi,
          grad: region(theirs),
          scratch: region(scratch),
        },
      });
      worker.once('message', (m) => {
        resolve(m);
        void worker.terminate();
      });
      worker.once('error', reject);
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(stats).toEqual(mine.stats);
    expect(bytes(theirs).equals(bytes(mine.grad))).toBe(true);
  });
});

describe('wasm kernel determinism across V8 tiers', () => {
  // V8 first runs wasm from its baseline compiler (Liftoff), then from its optimizing one (TurboFan)
  // once a function is hot: a call's bytes must not depend on which code it ran, i.e. on earlier
  // calls. Each child process below hashes the same gradients with one tier forced.
  it('gives the same bytes with Liftoff only, TurboFan only, and tiering up', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernel-wasm-tiers-'));
    const file = join(dir, 'tiers.mjs');
    const dist = (p: string) => JSON.stringify(new URL(`../dist/${p}`, import.meta.url).href);
    writeFileSync(
      file,
      `import { createHash } from 'node:crypto';
       import { Arena } from ${dist('engine/arena.js')};
       import { kernelScratchBytes } from ${dist('kernels/create.js')};
       import { kernelModule } from ${dist('kernels/wasm/module.js')};
       import { WasmKernel, wasmParamStorage } from ${dist('kernels/wasm-kernel.js')};
       import { mlpLayout } from ${dist('model/layout.js')};
       import { Rng } from ${dist('rng.js')};
       const rng = new Rng(9);
       const arena = new Arena();
       const layout = mlpLayout([785, 51, 49, 10]);
       const n = 40, nIn = 785, rows = 33;
       const fill = (a, f) => { for (let i = 0; i < a.length; i++) a[i] = f(); return a; }; // in place: map() would copy out of the arena
       const x = fill(arena.alloc('f32', n * nIn), () => (rng.uniform() < 0.3 ? rng.uniform() : 0));
       const y = fill(arena.alloc('i32', n), () => Math.floor(rng.uniform() * 10));
       const storage = wasmParamStorage(layout);
       const params = arena.alloc('f32', storage.count);
       storage.store(fill(new Float32Array(layout.count), () => rng.uniform() - 0.5), params);
       const idx = fill(arena.alloc('i32', rows), () => Math.floor(rng.uniform() * n));
       const grad = arena.alloc('f32', storage.count);
       const reps = Number(process.argv[2]);
       const out = [];
       for (const variant of ['simd', 'relaxed'].filter((v) => kernelModule(v) !== null)) {
         for (const path of ['sparse', 'dense']) {
           const scratch = arena.alloc('u8', kernelScratchBytes('wasm', layout, rows));
           const k = new WasmKernel({ layout, maxRows: rows, memory: arena.memory, scratch }, { path, variant });
           const hashes = new Set();
           for (let r = 0; r < reps; r++) {
             k.gradient(params, { x, y, n, nIn }, idx, 0, rows, grad);
             if (r === 0 || r === reps - 1) hashes.add(createHash('sha256').update(new Uint8Array(grad.buffer, grad.byteOffset, grad.byteLength)).digest('hex'));
           }
           out.push(variant + '/' + path + ':' + [...hashes].join(','));
         }
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
    expect(liftoff.split(' ').length).toBeGreaterThanOrEqual(2);
    expect(turbofan).toBe(liftoff);
    expect(tiering).toBe(liftoff);
  });
});

describe('wasm kernel with the split\'s non-zero index', () => {
  // With Split.nonZero the first layer copies its rows' lists instead of scanning the rows: the
  // same lists, flags and count, so the same path choice and the same bytes.
  const withIndex = (s: ReturnType<typeof setup>): Split => ({ ...s.data, nonZero: buildNonZeroIndex(s.data.x, s.data.n, s.data.nIn, arenaAllocator(s.arena)) });
  /** the first byte where two gradients differ, or -1 (a short failure message for big arrays) */
  const firstDiff = (a: Float32Array, b: Float32Array) => {
    const x = bytes(a);
    const y = bytes(b);
    if (x.equals(y)) return -1;
    let i = 0;
    while (x[i] === y[i]) i++;
    return i;
  };

  function expectSameBytes(s: ReturnType<typeof setup>, opts: WasmKernelOptions): void {
    const indexed = withIndex(s);
    const k = wasmKernel(s.arena, s.layout, Math.max(s.hi - s.lo, s.data.n), opts);
    const a = runGradient(k, s);
    const b = runGradient(k, { ...s, data: indexed });
    const c = runGradient(k, s); // and back: nothing stays from the indexed call
    expect(firstDiff(b.grad, a.grad)).toBe(-1);
    expect(firstDiff(c.grad, a.grad)).toBe(-1);
    expect(Object.is(b.stats.loss, a.stats.loss)).toBe(true);
    expect(b.stats.correct).toBe(a.stats.correct);
    // evaluation ignores the index
    expect(k.evaluate(s.params, indexed, 0, s.data.n)).toEqual(k.evaluate(s.params, s.data, 0, s.data.n));
  }

  const cases: Case[] = [
    { sizes: [784, 50, 10], rows: 25, density: 0.19, seed: 21 }, // bs 50's chunks of MNIST-like rows
    { sizes: [784, 50, 10], rows: 64, density: 0.19, seed: 22 },
    { sizes: [785, 51, 7], rows: 49, density: 0.2, seed: 23 }, // nIn not a multiple of 4
    { sizes: [3, 5, 2], rows: 7, density: 0.5, seed: 24 }, // fewer inputs than a group
    { sizes: [51, 7, 5], rows: 9, density: 1, seed: 25 }, // dense rows: the dense path
    { sizes: [784, 50, 10], rows: 25, density: 0.02, seed: 26 }, // mostly empty rows
  ];
  for (const variant of VARIANTS) {
    for (const c of cases) {
      it(`${variant}: [${c.sizes}] x ${c.rows} rows, density ${c.density}: the same bytes with and without it, paths ${PATHS.join('/')}`, () => {
        for (const path of PATHS) expectSameBytes(setup(c), { path, variant });
      });
    }
    it(`${variant}: the same bytes for rows with -0 and NaN pixels, and all-zero rows`, () => {
      for (const path of PATHS) {
        const s = setup({ sizes: [784, 50, 10], rows: 25, density: 0.19, seed: 27 });
        const rng = new Rng(5);
        const xb = new Int32Array(s.data.x.buffer, s.data.x.byteOffset, s.data.x.length);
        for (let i = 0; i < s.data.x.length; i++) {
          if (rng.uniform() < 0.05) s.data.x[i] = -0;
          else if (rng.uniform() < 0.002) xb[i] = 0x7fc00000 | Math.floor(rng.uniform() * 1000); // NaN with payloads
        }
        s.data.x.subarray(0, 784).fill(0);
        s.idx[s.lo + 2] = 0;
        expectSameBytes(s, { path, variant });
        // only -0: finite results
        for (let i = 0; i < s.data.x.length; i++) if (Number.isNaN(s.data.x[i])) s.data.x[i] = -0;
        expectSameBytes(s, { path, variant });
      }
    });
  }

  it('rejects an index that does not fit the split or its rows, leaving the gradient alone', () => {
    const s = setup({ sizes: [51, 7, 5], rows: 9, density: 0.5, seed: 28 });
    const k = wasmKernel(s.arena, s.layout, 9);
    const grad = s.arena.alloc('f32', s.P).fill(7);
    const data = withIndex(s);
    const nz = data.nonZero!;
    const i = s.idx[s.lo];
    const t = nz.start[i];
    nz.index[t] = 51; // an input outside the row
    expect(() => k.gradient(s.params, data, s.idx, s.lo, s.hi, grad)).toThrow(/non-zero list/);
    nz.index[t] = -1;
    expect(() => k.gradient(s.params, data, s.idx, s.lo, s.hi, grad)).toThrow(/non-zero list/);
    expect(grad.every((v) => v === 7)).toBe(true);
    const short = { ...data, nonZero: { ...nz, start: nz.start.subarray(0, s.data.n) } };
    expect(() => k.gradient(s.params, short, s.idx, s.lo, s.hi, grad)).toThrow(/non-zero index/);
    const plain = { ...data, nonZero: buildNonZeroIndex(s.data.x, s.data.n, s.data.nIn, { f32: (n) => new Float32Array(n), i32: (n) => new Int32Array(n) }) };
    expect(() => k.gradient(s.params, plain, s.idx, s.lo, s.hi, grad)).toThrow(TypeError);
    expect(grad.every((v) => v === 7)).toBe(true);
  });
});

describe('wasm kernel memory and errors', () => {
  const c: Case = { sizes: [51, 7, 5], rows: 9, density: 0.5, seed: 5 };

  it('writes only its gradient and its own scratch', () => {
    const arena = new Arena();
    const guard = () => arena.alloc('u8', 256).fill(0xa5);
    const guards = [guard()];
    const s = setup(c, arena);
    guards.push(guard());
    const grad = arena.alloc('f32', s.P);
    guards.push(guard());
    const scratch = arena.alloc('u8', kernelScratchBytes('wasm', s.layout, c.rows));
    guards.push(guard());
    const before = { x: s.data.x.slice(), y: s.data.y.slice(), params: s.params.slice(), idx: s.idx.slice() };
    const k = new WasmKernel({ layout: s.layout, maxRows: c.rows, memory: arena.memory, scratch });
    k.gradient(s.params, s.data, s.idx, s.lo, s.hi, grad);
    k.evaluate(s.params, s.data, 0, Math.min(c.rows, s.data.n));
    for (const g of guards) expect(g.every((v) => v === 0xa5)).toBe(true);
    expect(s.data.x).toEqual(before.x);
    expect(s.data.y).toEqual(before.y);
    expect(s.params).toEqual(before.params);
    expect(s.idx).toEqual(before.idx);
  });

  it('gives zero gradient and zero stats for an empty chunk', () => {
    const s = setup(c);
    const k = wasmKernel(s.arena, s.layout, c.rows);
    const grad = s.arena.alloc('f32', s.P).fill(NaN);
    expect(k.gradient(s.params, s.data, s.idx, 3, 3, grad)).toEqual({ loss: 0, correct: 0 });
    expect(grad.every((v) => v === 0)).toBe(true);
    expect(k.evaluate(s.params, s.data, 1, 1)).toEqual({ loss: 0, correct: 0 });
  });

  it('copies predictions out when they are not in the shared memory', () => {
    const s = setup(c);
    const k = wasmKernel(s.arena, s.layout, c.rows);
    const nClasses = c.sizes[c.sizes.length - 1];
    const shared = s.arena.alloc('f32', s.data.n * nClasses);
    const plain = new Float32Array(s.data.n * nClasses);
    expect(k.evaluate(s.params, s.data, 0, s.data.n, plain)).toEqual(k.evaluate(s.params, s.data, 0, s.data.n, shared));
    expect(plain).toEqual(shared);
    for (let r = 0; r < s.data.n; r++) {
      const sum = plain.subarray(r * nClasses, (r + 1) * nClasses).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 5);
    }
  });

  it('rejects out-of-range ids, labels and sizes, leaving the gradient alone', () => {
    const s = setup(c);
    const k = wasmKernel(s.arena, s.layout, c.rows);
    const grad = s.arena.alloc('f32', s.P).fill(7);
    const badIdx = s.arena.alloc('i32', 2);
    badIdx.set([0, s.data.n]);
    expect(() => k.gradient(s.params, s.data, badIdx, 0, 2, grad)).toThrow(/sample id/);
    badIdx[1] = -1;
    expect(() => k.gradient(s.params, s.data, badIdx, 0, 2, grad)).toThrow(/sample id/);
    expect(grad.every((v) => v === 7)).toBe(true);
    s.data.y[s.idx[s.lo]] = c.sizes[c.sizes.length - 1];
    expect(() => k.gradient(s.params, s.data, s.idx, s.lo, s.hi, grad)).toThrow(/label/);
    expect(() => k.gradient(s.params, s.data, s.idx, 0, c.rows + 1, grad)).toThrow(RangeError);
    expect(() => k.gradient(s.params, s.data, s.idx, 0, s.idx.length + 1, grad)).toThrow(RangeError);
    expect(() => k.gradient(s.params, s.data, s.idx, 0, 1, new Float32Array(s.P))).toThrow(TypeError);
    expect(() => k.gradient(s.params.slice(), s.data, s.idx, 0, 1, grad)).toThrow(TypeError);
    expect(() => k.evaluate(s.params, s.data, 0, s.data.n + 1)).toThrow(RangeError);
  });

  it('is registered as the kernel "wasm"', () => {
    expect(KERNEL_NAMES).toContain('wasm');
    const s = setup(c);
    const bytes = kernelScratchBytes('wasm', s.layout, c.rows);
    expect(bytes).toBeGreaterThan(0);
    const k = createKernel('wasm', { layout: s.layout, maxRows: c.rows, memory: s.arena.memory, scratch: s.arena.alloc('u8', bytes) });
    expect(k.name).toBe('wasm');
    const grad = s.arena.alloc('f32', s.P);
    const ref = reference(s, c.rows);
    const stats = k.gradient(s.params, s.data, s.idx, s.lo, s.hi, grad);
    expect(relErr(s.storage.toModel(grad), ref.grad)).toBeLessThan(TOL);
    expect(paramStorage('wasm', s.layout).count).toBe(s.P);
    expect(stats.correct).toBe(ref.stats.correct);
    expect(() => new WasmKernel({ layout: s.layout, maxRows: c.rows, memory: s.arena.memory, scratch: s.arena.alloc('u8', bytes - 128) })).toThrow(/scratch/);
  });
});

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
