import type { MlpLayout } from '../model/layout.js';
import { correctRows, crossEntropyBackward, crossEntropyForward } from './cross-entropy.js';
import { Lin, Relu, type Layer } from './layers.js';
import { linWeightGrad } from './linear.js';
import type { Floats, FloatsConstructor, Stats } from './types.js';

/**
 * The model: Lin, Relu, Lin, ..., Lin, with cross-entropy on the logits. It keeps the activations of
 * up to `maxRows` samples (its scratch), so one instance serves one thread. The reference kernel
 * (kernels/js-kernel.ts) runs it; it is plain TypeScript, every formula visible.
 */
export class Mlp {
  readonly layers: Layer[];
  readonly nClasses: number;
  /** acts[0]: the input rows [maxRows, nIn]; acts[i + 1]: layers[i]'s output [maxRows, layers[i].nOut] */
  readonly acts: Floats[];
  /** dacts[i]: d loss / d acts[i] (dacts[0] is unused: nothing needs the input's gradient) */
  readonly dacts: Floats[];
  /** each row's loss and correctness (1 when its largest logit is its label) after forwardLoss   [maxRows] */
  readonly losses: Float64Array;
  readonly correct: Int32Array;

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
    this.nClasses = layout.nClasses;
    const widths = [layout.nIn, ...this.layers.map((layer) => layer.nOut)];
    this.acts = widths.map((w) => new floats(maxRows * w));
    this.dacts = widths.map((w, i) => new floats(i === 0 ? 0 : maxRows * w));
    this.losses = new Float64Array(maxRows);
    this.correct = new Int32Array(maxRows);
  }

  /** The input buffer [maxRows, nIn]: fill rows here, then call forward. */
  get input(): Floats {
    return this.acts[0];
  }

  /** d loss / d logits [maxRows, nClasses]: where backward starts from. */
  get dlogits(): Floats {
    return this.dacts[this.layers.length];
  }

  /** The input rows of linear layer l (for l > 0, the ReLU's output before it) after forward. */
  linInput(l: number): Floats {
    return this.acts[2 * l];
  }

  /** d loss / d (linear layer l's output) after backward. */
  linOutputGrad(l: number): Floats {
    return this.dacts[2 * l + 1];
  }

  /** Runs the layers on the first `rows` rows of input; returns the logits [rows, nClasses] (a view of the scratch). */
  forward(params: Floats, rows: number): Floats {
    this.checkRows(rows);
    for (let i = 0; i < this.layers.length; i++) this.layers[i].forward({ params, input: this.acts[i], output: this.acts[i + 1], rows });
    return this.acts[this.layers.length];
  }

  /** forward, then each row's loss and correctness into `losses` and `correct`; returns the logits [rows, nClasses]. */
  forwardLoss(params: Floats, labels: Int32Array, rows: number): Floats {
    const logits = this.forward(params, rows);
    crossEntropyForward(logits, labels, this.losses, rows, this.nClasses);
    correctRows(logits, labels, this.correct, rows, this.nClasses);
    return logits;
  }

  /** The loss summed and the rows counted correct, over the first `rows` rows of the last forwardLoss, in row order. */
  totals(rows: number): Stats {
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < rows; r++) {
      loss += this.losses[r];
      correct += this.correct[r];
    }
    return { loss, correct };
  }

  /**
   * The hand-derived backward pass from dlogits, row by row: each layer's backward from the last to
   * the first linear layer's output gradient (nothing needs the input's).
   */
  backward(params: Floats, rows: number): void {
    for (let i = this.layers.length - 1; i >= 1; i--) {
      this.layers[i].backward({ params, output: this.acts[i + 1], dOutput: this.dacts[i + 1], dInput: this.dacts[i], rows });
    }
  }

  /**
   * The lesson's whole step, for checks: forward, the summed loss, and (when grad is given) its
   * gradient: dlogits = softmax - onehot(y), the backward pass, then each linear layer's
   * dW = dout^T @ input and db = sum(dout) over the rows.
   *   params, grad: [P] (model layout), input rows: [rows, nIn], labels: [rows]
   */
  lossAndGradient(params: Floats, labels: Int32Array, rows: number, grad: Floats | null): Stats {
    const logits = this.forwardLoss(params, labels, rows);
    const stats = this.totals(rows);
    if (grad === null) return stats;
    crossEntropyBackward(logits, labels, this.dlogits, rows, this.nClasses);
    this.backward(params, rows);
    this.layout.linears.forEach((s, l) => {
      const dW = new Float64Array(s.weight.length);
      const db = new Float64Array(s.bias.length);
      const factors = { rows, nIn: s.nIn, x: this.linInput(l), at: (r: number) => r * s.nIn, dout: this.linOutputGrad(l), doutStride: s.nOut };
      linWeightGrad(factors, 0, s.nOut, dW, db);
      grad.set(dW, s.weight.offset);
      grad.set(db, s.bias.offset);
    });
    return stats;
  }

  private checkRows(rows: number): void {
    if (rows < 0 || rows > this.maxRows) throw new RangeError(`${rows} rows do not fit this model's scratch of ${this.maxRows}`);
  }
}
