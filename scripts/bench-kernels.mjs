// npm run bench:kernels — the compute kernels on the 784-50-10 MLP with MNIST rows, one thread.
//   GEMM stages: GFLOP/s per stage and chunk size (25 rows: bs 50's chunks; 64: bs 512's), counted
//                as the dense product's 2*rows*nIn*nOut flops (so the sparse path's figure is an
//                effective rate). The wasm stages are timed as the kernel runs them: the forward
//                includes staging b (and, sparse, listing the non-zeros; W1 is stored transposed,
//                so only the dense path converts it), the weight gradient db; the input gradient
//                includes staging W2 in float64.
//   whole chunks: samples/s of gradient() over every chunk of a batch (bs 50 = 2 x 25, bs 512 =
//                8 x 64) and of evaluate() over 500-row chunks.
// Each figure is the median of REPEATS timed runs, all cells taken in turn. Needs `npm run build`.
import { Arena } from '../dist/engine/arena.js';
import { arenaAllocator } from '../dist/engine/arena-allocator.js';
import { chunkCount, chunkRange, maxChunkRows } from '../dist/engine/chunks.js';
import { loadMnist } from '../dist/data/mnist.js';
import { kernelScratchBytes } from '../dist/kernels/create.js';
import { kernelModule } from '../dist/kernels/wasm/module.js';
import { WasmKernel, wasmParamStorage } from '../dist/kernels/wasm-kernel.js';
import { initParams } from '../dist/model/init.js';
import { mlpLayout } from '../dist/model/layout.js';
import { linBackward, linForward } from '../dist/nn/linear.js';
import { Mlp } from '../dist/nn/mlp.js';
import { Rng } from '../dist/rng.js';

const REPEATS = 7;
/** rows of a chunk: bs 50's and bs 512's */
const CHUNK_SIZES = [maxChunkRows(50), maxChunkRows(512)];
const SIZES = [784, 50, 10];

const arena = new Arena();
const data = loadMnist({ alloc: arenaAllocator(arena) }).train;
const layout = mlpLayout(SIZES);
const params = arena.alloc('f32', layout.count);
initParams(params, layout, 'kaiming', new Rng(1));
const rng = new Rng(2);
const batch = arena.alloc('i32', 512);
for (let i = 0; i < batch.length; i++) batch[i] = Math.floor(rng.uniform() * data.n);
// the wasm kernel takes the parameters as it stores them (the first W transposed)
const storage = wasmParamStorage(layout);
const stored = arena.alloc('f32', storage.count);
storage.store(params, stored);
const grads = arena.alloc('f32', chunkCount(512) * storage.count);
const MAX_ROWS = 500;

/**
 * Timing cells: each is calibrated to about `ms` per timed run, then all cells are run round-robin
 * REPEATS times (so a burst of load elsewhere on the machine spreads over every cell instead of
 * skewing one) and each reports its median seconds per call.
 */
const cells = [];
function cell(fn, ms = 30) {
  for (let i = 0; i < 3; i++) fn(); // warm up (and let V8 tier the wasm up)
  const t0 = performance.now();
  fn();
  const c = { fn, reps: Math.max(1, Math.round(ms / Math.max(performance.now() - t0, 1e-3))), runs: [] };
  cells.push(c);
  return c;
}
function runCells() {
  for (let r = 0; r < REPEATS; r++) {
    for (const c of cells) {
      const t = performance.now();
      for (let i = 0; i < c.reps; i++) c.fn();
      c.runs.push((performance.now() - t) / c.reps / 1e3);
    }
  }
}
const median = (c) => [...c.runs].sort((a, b) => a - b)[REPEATS >> 1];

const wasmVariants = ['simd', 'relaxed'].filter((v) => kernelModule(v) !== null);
const wasmKernel = (path, variant) =>
  new WasmKernel({ layout, maxRows: MAX_ROWS, memory: arena.memory, scratch: arena.alloc('u8', kernelScratchBytes('wasm', layout, MAX_ROWS)) }, { path, variant });

// ---- GEMM stages -------------------------------------------------------------------------------
const [L1, L2] = layout.linears;
const view = (t) => params.subarray(t.offset, t.offset + t.length);
const STAGES = [
  { name: 'L1 forward   x[R,784] W1[50,784]^T', flops: (R) => 2 * R * 784 * 50 },
  { name: 'L1 dW1 = dz1^T[50,R] x[R,784]', flops: (R) => 2 * R * 50 * 784 },
  { name: 'L2 forward   h[R,50] W2[10,50]^T', flops: (R) => 2 * R * 50 * 10 },
  { name: 'L2 dW2 = dz2^T[10,R] h[R,50]', flops: (R) => 2 * R * 10 * 50 },
  { name: 'L2 dh = dz2[R,10] W2[10,50]', flops: (R) => 2 * R * 10 * 50 },
];

/** Cells per stage of the reference layers (src/nn/linear.ts) on R gathered rows. */
function jsStages(R) {
  const x = new Float32Array(R * 784);
  for (let r = 0; r < R; r++) x.set(data.x.subarray(batch[r] * 784, (batch[r] + 1) * 784), r * 784);
  const h = new Float32Array(R * 50);
  const z2 = new Float32Array(R * 10);
  const dz1 = new Float32Array(R * 50).map(() => rng.uniform() - 0.5);
  const dz2 = new Float32Array(R * 10).map(() => rng.uniform() - 0.5);
  const dW1 = new Float32Array(50 * 784);
  const db1 = new Float32Array(50);
  const dW2 = new Float32Array(10 * 50);
  const db2 = new Float32Array(10);
  const dh = new Float32Array(R * 50);
  const dW2only = cell(() => linBackward(h, view(L2.weight), dz2, dW2, db2, null, R, 50, 10));
  const both = cell(() => linBackward(h, view(L2.weight), dz2, dW2, db2, dh, R, 50, 10));
  const stages = [
    cell(() => linForward(x, view(L1.weight), view(L1.bias), h, R, 784, 50)),
    cell(() => linBackward(x, view(L1.weight), dz1, dW1, db1, null, R, 784, 50)),
    cell(() => linForward(h, view(L2.weight), view(L2.bias), z2, R, 50, 10)),
    dW2only,
  ];
  // linBackward computes dh together with dW2: its share is the difference
  return () => [...stages.map(median), Math.max(median(both) - median(dW2only), 1e-9)];
}

/** Cells per stage of a wasm kernel of its own on the chunk batch[0, R), as its gradient() runs them. */
function wasmStages(path, variant, R) {
  const k = wasmKernel(path, variant);
  const g = arena.alloc('f32', storage.count);
  k.gradient(stored, data, batch, 0, R, g); // the state each stage re-runs from
  const stages = [
    cell(() => k.stage('forward', 0, stored, g)),
    cell(() => k.stage('weightGrad', 0, stored, g)),
    cell(() => k.stage('forward', 1, stored, g)),
    cell(() => k.stage('weightGrad', 1, stored, g)),
    cell(() => k.stage('inputGrad', 1, stored, g)),
  ];
  return () => stages.map(median);
}

const gemmColumns = [['js', (R) => jsStages(R)]];
for (const v of wasmVariants) {
  for (const path of ['sparse', 'dense']) gemmColumns.push([`wasm ${path}${v === 'relaxed' ? ' (FMA)' : ''}`, (R) => wasmStages(path, v, R)]);
}
const gemmCells = {};
for (const R of CHUNK_SIZES) for (const [name, make] of gemmColumns) gemmCells[`${name}@${R}`] = make(R);

// ---- whole chunks ------------------------------------------------------------------------------
const kernels = [['js', new Mlp(layout, MAX_ROWS)]];
for (const v of wasmVariants) kernels.push([`wasm${v === 'relaxed' ? ' (FMA)' : ''}`, wasmKernel('auto', v)]);

/** A cell for gradient() over the chunks of one batch of bs rows, one chunk after another; gives samples/s. */
function batchRate(k, bs) {
  const n = chunkCount(bs);
  const [p, P] = k.name === 'wasm' ? [stored, storage.count] : [params, layout.count];
  const c = cell(() => {
    for (let i = 0; i < n; i++) {
      const [lo, hi] = chunkRange(bs, n, i);
      k.gradient(p, data, batch, lo, hi, grads.subarray(i * P, (i + 1) * P));
    }
  }, 60);
  return () => bs / median(c);
}

const rows = [
  [`gradient, bs 50 (${chunkCount(50)} chunks x ${maxChunkRows(50)})`, (k) => batchRate(k, 50)],
  [`gradient, bs 512 (${chunkCount(512)} chunks x ${maxChunkRows(512)})`, (k) => batchRate(k, 512)],
  [
    'evaluate, 500-row chunks',
    (k) => {
      const c = cell(() => k.evaluate(k.name === 'wasm' ? stored : params, data, 0, MAX_ROWS), 60);
      return () => MAX_ROWS / median(c);
    },
  ],
];
const rates = rows.map(([, make]) => kernels.map(([, k]) => make(k)));

runCells();
const gemm = Object.fromEntries(Object.entries(gemmCells).map(([key, get]) => [key, get()]));

console.log(`## GEMM stages, GFLOP/s (784-50-10, MNIST rows, 1 thread; median of ${REPEATS})\n`);
console.log(`| stage | rows | ${gemmColumns.map(([n]) => n).join(' | ')} |`);
console.log(`|---|---|${gemmColumns.map(() => '---:').join('|')}|`);
STAGES.forEach((st, i) => {
  for (const R of CHUNK_SIZES) {
    const gflops = gemmColumns.map(([n]) => (st.flops(R) / gemm[`${n}@${R}`][i] / 1e9).toFixed(2));
    console.log(`| ${st.name} | ${R} | ${gflops.join(' | ')} |`);
  }
});
console.log(`\n## Whole chunks, samples/s (1 thread; median of ${REPEATS})\n`);
console.log(`| work | ${kernels.map(([n]) => n).join(' | ')} | wasm / js |`);
console.log(`|---|${kernels.map(() => '---:').join('|')}|---:|`);
for (const [i, [name]] of rows.entries()) {
  const r = rates[i].map((get) => get());
  console.log(`| ${name} | ${r.map((v) => Math.round(v).toLocaleString('en-US')).join(' | ')} | ${(r[1] / r[0]).toFixed(0)}x |`);
}
