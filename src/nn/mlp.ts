import type { Split } from '../data/dataset.js';
import type { Kernel } from '../kernels/kernel.js';
import type { MlpLayout } from '../model/layout.js';
import { sgdUpdateSlice, type SgdOptions } from '../optim/sgd.js';
import { logsumexp, softmaxCrossEntropy } from './cross-entropy.js';
import { Lin, Relu, type Layer } from './layers.js';
import type { Floats, FloatsConstructor, Stats } from './types.js';

/**
 * The model: Lin, Relu, Lin, ..., Lin, with cross-entropy on the logits. It keeps the activations of
 * up to `maxRows` samples (its scratch), so one instance serves one thread. It is also the reference
 * kernel: plain TypeScript, every formula visible.
 */
export class Mlp implements Kernel {
  readonly name = 'js';
  readonly layers: Layer[];
  readonly nClasses: number;
  /** acts[0]: the input rows [maxRows, nIn]; acts[i + 1]: layer i's output [maxRows, layers[i].nOut] */
  private readonly acts: Floats[];
  /** dacts[i]: d loss / d acts[i] (dacts[0] is unused: nothing needs the input's gradient) */
  private readonly dacts: Floats[];
  private readonly labels: Int32Array;

  constructor(
    readonly layout: MlpLayout,
    readonly maxRows: number,
    floats: FloatsConstructor = Float32Array,
  ) {
    this.layers = [];
    layout.linears.forEach((spec, l) => {
      this.layers.push(new Lin(spec));
      if (l + 1 < layout.linears.length) this.layers.push(new Relu(spec.nOut));
    });
    this.nClasses = layout.sizes[layout.sizes.length - 1];
    const widths = [layout.sizes[0], ...this.layers.map((layer) => layer.nOut)];
    this.acts = widths.map((w) => new floats(maxRows * w));
    this.dacts = widths.map((w, i) => new floats(i === 0 ? 0 : maxRows * w));
    this.labels = new Int32Array(maxRows);
  }

  /** The input buffer [maxRows, nIn]: fill rows here, then call forward or lossAndGradient. */
  get input(): Floats {
    return this.acts[0];
  }

  /** Runs the layers on the first `rows` rows of input; returns the logits [rows, nClasses] (a view). */
  forward(params: Floats, rows: number): Floats {
    for (let i = 0; i < this.layers.length; i++) this.layers[i].forward(params, this.acts[i], this.acts[i + 1], rows);
    return this.acts[this.layers.length];
  }

  /**
   * Forward, loss, and (when grad is given) the hand-derived backward, summed over the rows:
   * dlogits = softmax - onehot(y), then each layer's backward from the last to the first.
   *   params, grad: [P], input rows: [rows, nIn], labels: [rows]
   */
  lossAndGradient(params: Floats, labels: Int32Array, rows: number, grad: Floats | null): Stats {
    this.checkRows(rows);
    const L = this.layers.length;
    const logits = this.forward(params, rows);
    const stats = softmaxCrossEntropy(logits, labels, grad === null ? null : this.dacts[L], rows, this.nClasses);
    if (grad === null) return stats;
    for (let i = L - 1; i >= 0; i--) {
      this.layers[i].backward(params, this.acts[i], this.acts[i + 1], this.dacts[i + 1], i === 0 ? null : this.dacts[i], grad, rows);
    }
    return stats;
  }

  gradient(params: Float32Array, data: Split, idx: Int32Array, lo: number, hi: number, grad: Float32Array): Stats {
    const rows = hi - lo;
    this.checkRows(rows);
    const nIn = data.nIn;
    const x = this.acts[0];
    for (let r = 0; r < rows; r++) {
      const i = idx[lo + r];
      x.set(data.x.subarray(i * nIn, (i + 1) * nIn), r * nIn); // the lesson's x_batch
      this.labels[r] = data.y[i];
    }
    return this.lossAndGradient(params, this.labels, rows, grad);
  }

  evaluate(params: Float32Array, data: Split, lo: number, hi: number, predictions?: Float32Array): Stats {
    const rows = hi - lo;
    this.checkRows(rows);
    this.acts[0].set(data.x.subarray(lo * data.nIn, hi * data.nIn));
    this.labels.set(data.y.subarray(lo, hi));
    const stats = this.lossAndGradient(params, this.labels, rows, null);
    if (predictions) softmaxRows(this.acts[this.layers.length], predictions, rows, this.nClasses);
    return stats;
  }

  update(o: SgdOptions, params: Float32Array, slots: Float32Array, nChunks: number, batchSize: number, buf: Float32Array | null, lo: number, hi: number): void {
    sgdUpdateSlice(o, params, slots, nChunks, batchSize, buf, lo, hi);
  }

  private checkRows(rows: number): void {
    if (rows < 0 || rows > this.maxRows) throw new RangeError(`${rows} rows do not fit this model's scratch of ${this.maxRows}`);
  }
}

/** probs = softmax(logits) = exp(logits - logsumexp(logits)), row by row.   logits, probs: [rows, n] */
function softmaxRows(logits: Floats, probs: Float32Array, rows: number, n: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * n;
    const lse = logsumexp(logits, off, n);
    for (let c = 0; c < n; c++) probs[off + c] = Math.exp(logits[off + c] - lse);
  }
}
