// npm run bench:kernels — the compute kernels on the 784-50-10 MLP with MNIST rows, one thread: the
// two passes of a training step, each over a whole batch as one thread does them (the rows pass in
// the items and the slices pass in the slices the engine cuts for one thread), the whole step, and
// evaluation, in samples/s, for the js reference and the wasm kernel (and its relaxed-SIMD build
// where Node can run it). Each figure is the median of REPEATS timed runs, all cells taken in turn.
// Needs `npm run build`.
import * as lib from '../dist/index.js';
import { kernelModule } from '../dist/kernels/wasm/module.js';
import { WasmKernel } from '../dist/kernels/wasm-kernel.js';
import { median } from './lib/bursts.mjs';
import { sharedMnist } from './lib/mnist.mjs';
import { STILL_UPDATE as STILL } from './lib/settings.mjs';
import { initWeights } from './lib/weights.mjs';

const REPEATS = 7;
const SIZES = [784, 50, 10];

const { SharedState, itemStart, rowItemCount, Rng } = lib;
const { arena, data } = sharedMnist(lib);

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

/** The kernels to compare: name and how to make one over a state. */
const kernels = [
  ['js', 'js', (state) => state.kernel(0)],
  ['wasm', 'wasm', (state) => new WasmKernel(state.kernelContext(0), { variant: 'simd' })],
  ...(kernelModule('relaxed') ? [['wasm (FMA)', 'wasm', (state) => new WasmKernel(state.kernelContext(0), { variant: 'relaxed' })]] : []),
];

const rows = [];
const cuts = new Set();
for (const [name, kernelName, make] of kernels) {
  for (const bs of [50, 512]) {
    const state = SharedState.create(arena, data, { sizes: SIZES, batchSize: bs, kernel: kernelName, threads: 1, planThreads: 1 });
    initWeights(lib, state, 1);
    const rng = new Rng(2);
    for (let r = 0; r < bs; r++) state.batch[r] = Math.floor(rng.uniform() * data.train.n);
    const k = make(state);
    const items = rowItemCount(bs, 1);
    const update = { ...STILL, meanOver: bs }; // made once here, not per slice in the timed passes
    let step = 0;
    const rowsPass = () => {
      step++;
      for (let c = 0; c < items; c++) k.trainRows(itemStart(bs, items, c), itemStart(bs, items, c + 1), step);
    };
    const slicesPass = () => {
      for (let s = 0; s < state.plan.slices.length; s++) k.updateSlice(s, bs, update, step);
    };
    rowsPass();
    const reps = name === 'js' ? 3 : 30;
    rows.push({ name, work: `rows pass, bs ${bs}`, samples: bs, c: cell(rowsPass, reps) });
    cuts.add(`bs ${bs}: ${items} row items, ${state.plan.slices.length} slices (${kernelName})`);
    rows.push({ name, work: `slices pass, bs ${bs}`, samples: bs, c: cell(slicesPass, reps) });
    rows.push({
      name,
      work: `training step, bs ${bs}`,
      samples: bs,
      c: cell(() => {
        rowsPass();
        slicesPass();
      }, reps),
    });
    if (bs === 50) {
      const valid = state.split('valid');
      rows.push({ name, work: 'evaluation, 500-row items', samples: valid.n, c: cell(() => { for (let lo = 0; lo < valid.n; lo += 500) k.evaluate(valid, lo, Math.min(valid.n, lo + 500)); }, reps) });
    }
  }
}

for (let r = 0; r < REPEATS; r++) {
  for (const c of cells) {
    const t = performance.now();
    for (let i = 0; i < c.reps; i++) c.fn();
    c.runs.push((performance.now() - t) / 1000 / c.reps);
  }
}

const names = kernels.map(([name]) => name);
const works = [...new Set(rows.map((r) => r.work))];
const rate = (name, work) => {
  const r = rows.find((x) => x.name === name && x.work === work);
  return r.samples / median(r.c.runs);
};
console.log(`## Kernels, samples/s (784-50-10, MNIST rows, 1 thread; median of ${REPEATS}); the cut for one thread: ${[...cuts].join('; ')}\n`);
console.log(`| work | ${names.join(' | ')} | wasm / js |`);
console.log(`|---|${names.map(() => '---:').join('|')}|---:|`);
for (const work of works) {
  const cellsOf = names.map((n) => Math.round(rate(n, work)).toLocaleString('en-US'));
  console.log(`| ${work} | ${cellsOf.join(' | ')} | ${Math.round(rate('wasm', work) / rate('js', work))}x |`);
}
