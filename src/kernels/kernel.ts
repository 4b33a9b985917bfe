import type { Split } from '../data/dataset.js';
import type { BatchFactors } from '../engine/batch-factors.js';
import type { SlicePlan } from '../engine/work-plan.js';
import type { MlpLayout } from '../model/layout.js';
import type { Stats } from '../nn/types.js';
import type { UpdateOptions } from '../optim/sgd.js';
import type { ParamStorage } from './param-storage.js';

/**
 * The shared state a kernel computes on: the same views in every thread, over one shared memory.
 */
export interface StepViews {
  /** [P] the parameters, as the kernel stores them (`storage`) */
  params: Float32Array;
  /** [P] SGD's momentum buffer or AdamW's first moment in the same storage, or null without */
  momentum: Float32Array | null;
  /** [P] AdamW's second moment in the same storage, or null without */
  variance: Float32Array | null;
  /** [maxBatch] the current batch's sample ids */
  batch: Int32Array;
  /** the training split (with what the kernel's prepareTraining added), or null when only evaluating */
  train: Split | null;
  /** each batch row's per-sample gradient factors, its loss and correctness */
  factors: BatchFactors;
  /** how the parameters are cut into slices */
  plan: SlicePlan;
}

/** What one kernel instance is given: one per thread. */
export interface KernelContext {
  layout: MlpLayout;
  storage: ParamStorage;
  step: StepViews;
  /** the most rows one call is given: a row item, or an evaluation item */
  maxRows: number;
  /** the shared memory holding all of it (a wasm kernel imports it) */
  memory: WebAssembly.Memory;
  /** this thread's own scratch bytes inside `memory`, the definition's scratchBytes() long */
  scratch: Uint8Array;
}

/**
 * The compute of a training step, in its two phases, and a forward pass for evaluation. The
 * reference kernel (`js`) is the lesson's layers in plain TypeScript; a faster kernel can replace it
 * without touching the trainer. For a given kernel, every result is a function of the parameters
 * and the batch alone, never of which thread computes what:
 * - a row's values depend on that row alone, whatever rows share its call;
 * - every gradient element is summed over the batch rows in row order, whatever slice holds it.
 */
export interface Kernel {
  readonly name: KernelName;
  /**
   * The rows pass over batch rows [lo, hi) (sample ids step.batch[lo .. hi)) of step number `step`:
   * each row's forward pass, loss and hand-derived backward pass, leaving in step.factors each
   * layer's input and output gradient for the row (its per-sample gradient, as factors), its loss,
   * correctness and gradient norm. With `clip` > 0 it then scales the row's output gradients, so its
   * whole per-sample gradient, by min(1, clip / (norm + 1e-6)) (Opacus's per-sample clipping).
   * Last, it marks the row ready (factors.ready[r] = step, an atomic store after all of it).
   */
  trainRows(lo: number, hi: number, step: number, clip?: number): void;
  /**
   * The slices pass for slice s of step.plan, step number `step`: the slice's parameters' gradient
   * g = (sum_r dout_r ⊗ in_r + noise) / opt.meanOver, summed over rows 0 .. batchRows - 1 in order
   * (noise: opt.noiseStd times each parameter's normal, privacy/noise.ts), then the SGD update of
   * those parameters in place (optim/sgd.ts). It may start before the rows pass ends: it reads a
   * row once the row is marked ready for the step. Returns false, having written nothing, when a
   * row stayed unready for a while (about a millisecond): the caller then waits for the rows pass
   * and calls again.
   */
  updateSlice(s: number, batchRows: number, opt: UpdateOptions, step: number): boolean;
  /**
   * The summed loss and number correct over rows [lo, hi) of a split, in order. When `predictions`
   * is given, writes each row's class probabilities there.   predictions: [hi - lo, nClasses]
   */
  evaluate(split: Split, lo: number, hi: number, predictions?: Float32Array): Stats;
}

export type KernelName = 'js' | 'wasm';
export const KERNEL_NAMES: readonly KernelName[] = ['js', 'wasm'];
