import type { SplitName } from './shared-state.js';

/**
 * The messages a worker is sent each step. They carry ids and row ranges only: the data, the
 * parameters and the gradients are in the shared memory the worker was given at start-up.
 */
export type Task =
  /** gradient of batch rows [lo, hi) into slot `chunk` */
  | { op: 'grad'; chunk: number; lo: number; hi: number }
  /** loss and accuracy over rows [lo, hi) of a split */
  | { op: 'eval'; split: SplitName; lo: number; hi: number }
  /** the batch-mean SGD update of parameters [lo, hi) from slots 0..nChunks-1 */
  | { op: 'update'; lo: number; hi: number; nChunks: number; batchSize: number; lr: number };

/** A task's answer: [summed loss, correct count] (zeros for an update). */
export type TaskResult = [number, number];
