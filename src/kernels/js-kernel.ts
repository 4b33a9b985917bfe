import type { Split } from '../data/dataset.js';
import type { MlpLayout } from '../model/layout.js';
import { crossEntropyBackward, logsumexp } from '../nn/cross-entropy.js';
import { linWeightGrad } from '../nn/linear.js';
import { Mlp } from '../nn/mlp.js';
import type { Floats, Stats } from '../nn/types.js';
import { adamwStep } from '../optim/adamw.js';
import { sgdUpdate, type UpdateOptions } from '../optim/sgd.js';
import { GaussianNoise } from '../privacy/noise.js';
import type { Kernel, KernelContext, StepViews } from './kernel.js';

/**
 * The reference kernel: the lesson's model (nn/mlp.ts) on the parameters in the model layout, in
 * plain TypeScript with float64 sums. Its rows pass runs the model on the item's rows as a small
 * batch (every row's arithmetic is its own); its slices pass is the batch-mean step written out:
 * dW[j, :] = sum_r dout_r[j] * in_r over the rows in order, then `p -= lr * g`.
 */
export class JsKernel implements Kernel {
  readonly name = 'js';
  private readonly mlp: Mlp;
  private readonly layout: MlpLayout;
  private readonly step: StepViews;
  private readonly labels: Int32Array;
  /** a slice's gradient, float64: dW [slice rows, nIn] and db [slice rows] */
  private dW = new Float64Array(0);
  private db = new Float64Array(0);
  /** DP noise: the generator of the run's seed, and one row's normals */
  private noise: GaussianNoise | null = null;
  private z = new Float64Array(0);

  constructor(ctx: KernelContext) {
    if (ctx.storage.linears.some((t) => t.transposed) || ctx.storage.options.padded) throw new Error('the js kernel keeps the parameters in the model layout');
    this.layout = ctx.layout;
    this.step = ctx.step;
    this.mlp = new Mlp(ctx.layout, ctx.maxRows);
    this.labels = new Int32Array(ctx.maxRows);
  }

  trainRows(lo: number, hi: number, step: number, clip = 0): void {
    const { params, batch, train, factors } = this.step;
    if (train === null) throw new Error('this kernel was made without a training split');
    if (!(lo >= 0 && hi <= batch.length && lo <= hi)) throw new RangeError(`batch rows [${lo}, ${hi}) are outside [0, ${batch.length})`);
    const rows = hi - lo;
    const { mlp } = this;
    const nIn = train.nIn;
    const C = mlp.nClasses;
    for (let r = 0; r < rows; r++) {
      const i = batch[lo + r];
      if (!(i >= 0 && i < train.n)) throw new RangeError(`a sample id is outside the split: ${i}`);
      mlp.input.set(train.x.subarray(i * nIn, (i + 1) * nIn), r * nIn); // the lesson's x_batch
      this.labels[r] = checkLabel(train.y[i], C);
    }
    const logits = mlp.forwardLoss(params, this.labels, rows);
    crossEntropyBackward(logits, this.labels, mlp.dlogits, rows, C);
    mlp.backward(params, rows);
    for (let r = 0; r < rows; r++) {
      const norm = gradientNorm(mlp, this.layout, r);
      factors.norm[lo + r] = norm;
      if (clip > 0) scaleOutputGrads(mlp, this.layout, r, Math.fround(Math.min(1, clip / (norm + 1e-6))));
    }
    // each row's factors: every linear layer's input (after the first) and output gradient
    factors.loss.set(mlp.losses.subarray(0, rows), lo);
    factors.correct.set(mlp.correct.subarray(0, rows), lo);
    this.layout.linears.forEach((s, l) => {
      if (l > 0) factors.inputs[l].set(mlp.linInput(l).subarray(0, rows * s.nIn), lo * s.nIn);
      factors.douts[l].set(mlp.linOutputGrad(l).subarray(0, rows * s.nOut), lo * s.nOut);
    });
    for (let r = lo; r < hi; r++) Atomics.store(factors.ready, r, step);
  }

  updateSlice(s: number, batchRows: number, o: UpdateOptions, step: number): boolean {
    const { params, batch, train, factors, plan } = this.step;
    const slice = plan.slices[s];
    if (!slice) throw new RangeError(`no slice ${s}`);
    if (!rowsReady(factors.ready, batchRows, step)) return false;
    const { layer: l, lo: j0, hi: j1 } = slice;
    const spec = this.layout.linears[l];
    const nIn = spec.nIn;
    // layer 0's input rows are the batch's data rows; a later layer's are the factors' inputs
    const input =
      l === 0
        ? { x: train!.x as Floats, at: (r: number) => batch[r] * nIn }
        : { x: factors.inputs[l] as Floats, at: (r: number) => r * nIn };
    const layerFactors = { rows: batchRows, nIn, ...input, dout: factors.douts[l], doutStride: spec.nOut };
    const n = j1 - j0;
    if (this.dW.length < n * nIn) this.dW = new Float64Array(n * nIn);
    if (this.db.length < n) this.db = new Float64Array(n);
    linWeightGrad(layerFactors, j0, j1, this.dW, this.db);
    if (o.noiseStd !== 0) this.addNoise(o, l, j0, j1, nIn);
    // the batch mean (or DP-SGD's division by the expected batch size), then the optimizer on W[j0:j1, :] and b[j0:j1]
    for (let i = 0; i < n * nIn; i++) this.dW[i] /= o.meanOver;
    for (let i = 0; i < n; i++) this.db[i] /= o.meanOver;
    this.optimizerStep(o, spec.weight.offset + j0 * nIn, this.dW, n * nIn);
    this.optimizerStep(o, spec.bias.offset + j0, this.db, n);
    return true;
  }

  /** SGD or AdamW on params[at .. at + n) from their gradient g[0 .. n). */
  private optimizerStep(o: UpdateOptions, at: number, g: Float64Array, n: number): void {
    const { params, momentum, variance } = this.step;
    const p = params.subarray(at, at + n);
    if (!o.adamw) {
      sgdUpdate(p, g, momentum && momentum.subarray(at, at + n), o);
      return;
    }
    if (momentum === null || variance === null) throw new Error('AdamW needs its two moment buffers');
    adamwStep(p, g, momentum.subarray(at, at + n), variance.subarray(at, at + n), { lr: o.lr, weightDecay: o.weightDecay, adamw: o.adamw });
  }

  /** DP-SGD: noiseStd z into the summed gradient of W_l[j0:j1, :] and b_l[j0:j1], z each parameter's normal at the step. */
  private addNoise(o: UpdateOptions, l: number, j0: number, j1: number, nIn: number): void {
    if (this.noise?.seed !== o.noiseSeed) this.noise = new GaussianNoise(o.noiseSeed);
    if (this.z.length < Math.max(nIn, j1 - j0)) this.z = new Float64Array(Math.max(nIn, j1 - j0));
    for (let j = j0; j < j1; j++) {
      this.noise.weights(o.noiseStep, l, j, 0, nIn, this.z);
      for (let k = 0; k < nIn; k++) this.dW[(j - j0) * nIn + k] += o.noiseStd * this.z[k];
    }
    this.noise.biases(o.noiseStep, l, j0, j1, this.z);
    for (let j = j0; j < j1; j++) this.db[j - j0] += o.noiseStd * this.z[j - j0];
  }

  evaluate(split: Split, lo: number, hi: number, predictions?: Float32Array): Stats {
    const rows = hi - lo;
    const { mlp } = this;
    const C = mlp.nClasses;
    mlp.input.set(split.x.subarray(lo * split.nIn, hi * split.nIn));
    for (let r = 0; r < rows; r++) this.labels[r] = checkLabel(split.y[lo + r], C);
    const logits = mlp.forwardLoss(this.step.params, this.labels, rows);
    if (predictions) softmaxRows(logits, predictions, rows, C);
    return mlp.totals(rows);
  }
}

/**
 * Row r's whole per-sample gradient norm from its factors: each linear layer's gradient for the row is
 * dW = dout ⊗ in, db = dout, so ||g||^2 = sum over layers of ||dout||^2 (||in||^2 + 1).
 */
function gradientNorm(mlp: Mlp, layout: MlpLayout, r: number): number {
  let total = 0;
  layout.linears.forEach((s, l) => {
    total += sumSquares(mlp.linOutputGrad(l), r * s.nOut, s.nOut) * (sumSquares(mlp.linInput(l), r * s.nIn, s.nIn) + 1);
  });
  return Math.sqrt(total);
}

function sumSquares(x: Floats, at: number, n: number): number {
  let s = 0;
  for (let i = at; i < at + n; i++) s += x[i] * x[i];
  return s;
}

/** Scales row r's output gradient in every linear layer by c (its clipping factor; 1 changes nothing). */
function scaleOutputGrads(mlp: Mlp, layout: MlpLayout, r: number, c: number): void {
  if (c >= 1) return;
  layout.linears.forEach((s, l) => {
    const d = mlp.linOutputGrad(l);
    for (let j = r * s.nOut; j < (r + 1) * s.nOut; j++) d[j] *= c;
  });
}

/** How long a slice waits for the rows it reads before it gives the call back (ms). */
const ROWS_WAIT_MS = 1;

/** Whether rows [0, rows) are all marked ready for `step`, waiting up to ROWS_WAIT_MS for them. */
function rowsReady(ready: Int32Array, rows: number, step: number): boolean {
  const until = performance.now() + ROWS_WAIT_MS;
  for (let r = 0; r < rows; r++) {
    while (Atomics.load(ready, r) !== step) if (performance.now() > until) return false;
  }
  return true;
}

function checkLabel(y: number, nClasses: number): number {
  if (!(y >= 0 && y < nClasses)) throw new RangeError(`a label is outside [0, ${nClasses}): ${y}`);
  return y;
}

/** probs = softmax(logits) = exp(logits - logsumexp(logits)), row by row.   logits, probs: [rows, n] */
function softmaxRows(logits: Floats, probs: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * n;
    const lse = logsumexp(logits, off, n);
    for (let c = 0; c < n; c++) probs[off + c] = Math.exp(logits[off + c] - lse);
  }
}
