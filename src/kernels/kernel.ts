import type { Split } from '../data/dataset.js';
import type { Stats } from '../nn/types.js';
import type { SgdOptions } from '../optim/sgd.js';

/**
 * What the trainer needs from the compute: the gradient of a chunk of samples, and a forward pass
 * for evaluation. The reference kernel (`js`) is the lesson's layers in plain TypeScript; a faster
 * kernel can replace it without touching the trainer. A kernel owns per-thread scratch, so each
 * thread makes its own. For a given kernel, the result depends only on the parameters and the
 * chunk's samples, never on which thread computes it.
 */
export interface Kernel {
  readonly name: string;
  /**
   * grad := the sum over rows r in [lo, hi) of d loss(sample idx[r]) / d params (overwritten, same
   * layout as params). Returns the summed loss and the number classified correctly.
   *   params, grad: [P] as the kernel stores them (create.ts paramStorage), data.x: [n, nIn],
   *   data.y: [n], idx: [>= hi]
   */
  gradient(params: Float32Array, data: Split, idx: Int32Array, lo: number, hi: number, grad: Float32Array): Stats;
  /**
   * The summed loss and number correct over samples [lo, hi) of data, in order. When `predictions`
   * is given, writes each sample's class probabilities there.   predictions: [hi - lo, nClasses]
   */
  evaluate(params: Float32Array, data: Split, lo: number, hi: number, predictions?: Float32Array): Stats;
  /**
   * The batch-mean SGD update of params [lo, hi) from the first nChunks gradient slots (see
   * optim/sgd.ts for the formulas). A parameter's result must not depend on lo and hi: the slices
   * follow the thread count.   params, buf: [P], slots: [>= nChunks, P]
   */
  update(o: SgdOptions, params: Float32Array, slots: Float32Array, nChunks: number, batchSize: number, buf: Float32Array | null, lo: number, hi: number): void;
}

export type KernelName = 'js' | 'wasm';
export const KERNEL_NAMES: readonly KernelName[] = ['js', 'wasm'];
