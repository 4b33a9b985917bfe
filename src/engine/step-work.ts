import type { Kernel } from '../kernels/kernel.js';
import type { SgdOptions } from '../optim/sgd.js';
import { chunkStart } from './chunks.js';
import type { SharedState } from './shared-state.js';
import { Op, SPIN_MICROS, SPLIT_IDS, Word, claim, finish, waitPhase } from './step-control.js';

/**
 * The work of one step as any thread does it, the coordinator and the workers alike. Each chunk's
 * gradient goes to its own slot and its [loss, correct] to its own result cell; the update sums the
 * slots in chunk order. Which thread does an item therefore never changes a byte of the result.
 */
export class StepWork {
  /** slot c's view, made once: a step allocates nothing (no collections while training) */
  private readonly slotViews: Float32Array[] = [];
  private readonly sgd: SgdOptions = { lr: 0, momentum: 0, weightDecay: 0 };

  constructor(
    readonly state: SharedState,
    readonly kernel: Kernel,
  ) {}

  /**
   * A worker's part in step `gen`: chunks until none are left, then (for a training step) waits for
   * every chunk and takes parameter slices until none are left. A worker that found no chunk leaves
   * the slices to the threads already at work.
   */
  run(gen: number): void {
    const ctrl = this.state.control;
    if (!this.chunks(gen) || Atomics.load(ctrl, Word.N1) === 0) return;
    if (waitPhase(ctrl, 0, SPIN_MICROS)) this.slices(gen);
  }

  /** Claims and computes chunks of step `gen` until none are left; true if it did any. */
  chunks(gen: number): boolean {
    const ctrl = this.state.control;
    let worked = false;
    for (let c = claim(ctrl, 0, gen); c >= 0; c = claim(ctrl, 0, gen)) {
      this.chunk(c);
      finish(ctrl, 0);
      worked = true;
    }
    return worked;
  }

  /** Claims and applies parameter slices of step `gen` until none are left (every chunk must be done). */
  slices(gen: number): void {
    const ctrl = this.state.control;
    for (let s = claim(ctrl, 1, gen); s >= 0; s = claim(ctrl, 1, gen)) {
      this.slice(s);
      finish(ctrl, 1);
    }
  }

  /** Chunk c: a training chunk's gradient into slot c, or an evaluation chunk; [loss, correct] into results[c]. */
  private chunk(c: number): void {
    const { control: ctrl, params, batch, results } = this.state;
    const n = ctrl[Word.N0];
    const rows = ctrl[Word.ROWS];
    const lo = chunkStart(rows, n, c);
    const hi = chunkStart(rows, n, c + 1);
    const s =
      ctrl[Word.OP] === Op.TRAIN
        ? this.kernel.gradient(params, this.state.split('train'), batch, lo, hi, this.slot(c))
        : this.kernel.evaluate(params, this.state.split(SPLIT_IDS[ctrl[Word.SPLIT]]), lo, hi, this.predictionRows(lo, hi));
    results[2 * c] = s.loss;
    results[2 * c + 1] = s.correct;
  }

  /** Gradient slot c: [P]. */
  private slot(c: number): Float32Array {
    const P = this.state.params.length;
    return (this.slotViews[c] ??= this.state.slots.subarray(c * P, (c + 1) * P));
  }

  /** Where an evaluation chunk's class probabilities go, when they are kept. */
  private predictionRows(lo: number, hi: number): Float32Array | undefined {
    const p = this.state.predictions;
    if (p === null) return undefined;
    const C = this.state.layout.sizes[this.state.layout.sizes.length - 1];
    return p.subarray(lo * C, hi * C);
  }

  /** Parameter slice s: the batch mean of the chunk gradients and the SGD update. */
  private slice(s: number): void {
    const { control: ctrl, params, slots, hyper, momentum } = this.state;
    const n = ctrl[Word.N1];
    const o = this.sgd;
    o.lr = hyper[0];
    o.momentum = hyper[1];
    o.weightDecay = hyper[2];
    this.kernel.update(o, params, slots, ctrl[Word.N0], ctrl[Word.ROWS], momentum, alignedCut(params.length, n, s), alignedCut(params.length, n, s + 1));
  }
}

/** Slices are cut at multiples of 16 floats (64-byte lines), so no two threads write one cache line. */
const ALIGN = 16;

/** Where slice s starts (s = n: the end) when `length` elements are cut into n slices. */
function alignedCut(length: number, n: number, s: number): number {
  return s >= n ? length : Math.min(length, Math.round((s * length) / n / ALIGN) * ALIGN);
}
