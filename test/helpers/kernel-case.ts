import type { Dataset } from '../../src/data/dataset.js';
import { Arena } from '../../src/engine/arena.js';
import { SharedState } from '../../src/engine/shared-state.js';
import type { Kernel, KernelName } from '../../src/kernels/kernel.js';
import { mlpLayout, type MlpLayout } from '../../src/model/layout.js';
import { Mlp } from '../../src/nn/mlp.js';
import { crossEntropyForward } from '../../src/nn/cross-entropy.js';
import type { SgdOptions, UpdateOptions } from '../../src/optim/sgd.js';
import { Rng } from '../../src/rng.js';

/** A synthetic classification problem for the kernels. */
export interface Case {
  sizes: number[];
  /** batch rows */
  rows: number;
  /** fraction of non-zero inputs: < 1 is MNIST-like (exact zeros, values in (0, 1]), 1 is dense in [-1, 1) */
  density: number;
  seed: number;
}

/** The case's data, weights (model layout) and batch (out of order, with a repeated sample). */
export function caseData(c: Case): { data: Dataset; model: Float32Array; ids: Int32Array; layout: MlpLayout } {
  const rng = new Rng(c.seed);
  const layout = mlpLayout(c.sizes);
  const nIn = c.sizes[0];
  const nClasses = c.sizes[c.sizes.length - 1];
  const n = Math.max(2, Math.ceil(c.rows / 2) + 1); // fewer samples than rows: the batch repeats ids
  const x = new Float32Array(n * nIn);
  for (let i = 0; i < x.length; i++) {
    if (c.density < 1) x[i] = rng.uniform() < c.density ? 1 - rng.uniform() : 0;
    else x[i] = 2 * rng.uniform() - 1;
  }
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = Math.floor(rng.uniform() * nClasses);
  const model = new Float32Array(layout.count);
  for (const l of layout.linears) {
    const scale = Math.sqrt(6 / l.nIn) / (c.density < 1 ? Math.sqrt(c.density) : 1);
    for (let i = 0; i < l.weight.length; i++) model[l.weight.offset + i] = (rng.uniform() - 0.5) * scale;
    for (let i = 0; i < l.bias.length; i++) model[l.bias.offset + i] = (rng.uniform() - 0.5) * 0.2;
  }
  const ids = new Int32Array(c.rows);
  for (let i = 0; i < ids.length; i++) ids[i] = Math.floor(rng.uniform() * n);
  if (c.rows >= 2) ids[1] = ids[0];
  const split = { x, y, n, nIn };
  return { data: { train: split, valid: split, nIn, nClasses, source: 'synthetic' }, model, ids, layout };
}

export interface StateSetup {
  kernel: KernelName;
  /** threads to cut the slices for */
  planThreads?: number;
  momentum?: boolean;
  /** AdamW's second moment (with momentum: its first) */
  variance?: boolean;
  arena?: Arena;
}

/** A shared state for the case's model, batch and data, like the trainer lays it out. */
export function caseState(c: Case, s: StateSetup) {
  const { data, model, ids, layout } = caseData(c);
  const arena = s.arena ?? new Arena();
  const state = SharedState.create(arena, data, { sizes: c.sizes, batchSize: c.rows, kernel: s.kernel, threads: 2, planThreads: s.planThreads ?? 1, momentum: s.momentum, variance: s.variance });
  state.storage.store(model, state.params);
  state.batch.set(ids);
  return { arena, state, data, model, ids, layout };
}

/** Step numbers for the kernels' ready marks: each pass of a test gets a new one, as engine steps do. */
let stepNumber = 0;

/** The rows pass over the whole batch in items of `itemRows` rows, as step `step` (default: a new step), clipping to `clip` (0: none). */
export function rowsPass(kernel: Kernel, rows: number, itemRows: number, step = ++stepNumber, clip = 0): number {
  for (let lo = 0; lo < rows; lo += itemRows) kernel.trainRows(lo, Math.min(rows, lo + itemRows), step, clip);
  return step;
}

/** SGD settings as a slice's update takes them: the batch mean over `meanOver` rows, no noise, unless `dp` says otherwise. */
export function updateOptions(sgd: SgdOptions, meanOver: number, dp: Partial<UpdateOptions> = {}): UpdateOptions {
  return { ...sgd, meanOver, noiseStd: 0, noiseSeed: 0, noiseStep: 0, adamw: null, ...dp };
}

/** Every slice's update, in the plan's order, for the step the last rowsPass made. */
export function slicesPass(kernel: Kernel, state: SharedState, rows: number, opt: SgdOptions | UpdateOptions = { lr: 1, momentum: 0, weightDecay: 0 }, step = stepNumber): void {
  const o = 'meanOver' in opt ? opt : updateOptions(opt, rows);
  for (let s = 0; s < state.plan.slices.length; s++) {
    if (!kernel.updateSlice(s, rows, o, step)) throw new Error(`slice ${s}: its rows were not ready`);
  }
}

/**
 * The batch-mean gradient the slices pass forms, exactly, in the model layout: after the rows pass,
 * with the parameters set to 0 and plain SGD at lr 1, each parameter becomes 0 - 1 * g = -g.
 * The parameters are put back afterwards.
 */
export function meanGradient(kernel: Kernel, state: SharedState, rows: number): Float32Array {
  const saved = state.params.slice();
  state.params.fill(0);
  slicesPass(kernel, state, rows);
  const g = state.storage.toModel(state.params).map((v) => -v);
  state.params.set(saved);
  return g;
}

/** The lesson's gradient of the case's batch, from the reference model: per-row losses, correct count, mean gradient. */
export function referenceGradient(c: Case) {
  const { data, model, ids, layout } = caseData(c);
  const mlp = new Mlp(layout, c.rows);
  const nIn = c.sizes[0];
  const labels = new Int32Array(c.rows);
  ids.forEach((i, r) => {
    mlp.input.set(data.train.x.subarray(i * nIn, (i + 1) * nIn), r * nIn);
    labels[r] = data.train.y[i];
  });
  const grad = new Float32Array(layout.count);
  const stats = mlp.lossAndGradient(model, labels, c.rows, grad);
  const losses = new Float64Array(c.rows);
  mlp.forward(model, c.rows);
  crossEntropyForward(mlp.acts[mlp.layers.length], labels, losses, c.rows, layout.nClasses);
  return { stats, losses, mean: grad.map((g) => g / c.rows), layout };
}

/** max_i |a_i - b_i| / max(max_i |b_i|, 1e-30), Infinity for NaN: a against the reference b. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

export function bytes(a: Float32Array | Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
