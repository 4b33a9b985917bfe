import type { Kernel } from '../kernels/kernel.js';
import type { AdamWStep } from '../optim/adamw.js';
import type { UpdateOptions } from '../optim/sgd.js';
import type { SharedState } from './shared-state.js';
import { Hyper, Op, Phase, Result, SPIN_MICROS, SPLIT_IDS, Word, claim, finish, itemsOf, waitPhase } from './step-control.js';
import { itemStart } from './work-plan.js';

/**
 * The work of one step as any thread does it, the coordinator and the workers alike: claim items of
 * a phase until none are left. A row item's values go to its rows' places in the batch factors, an
 * evaluation item's sums to its own result cell, and a slice updates its own parameters; so which
 * thread does an item never changes a byte of the result.
 *
 * A thread that finds no row item left goes on to the slices at once: a slice reads each row as soon
 * as the row is ready, so the slices pass starts while the last rows are still being computed.
 */
/** StepWork.work's answer when its deadline passed between two items. */
export const PAUSED = -2;

export class StepWork {
  private readonly update: UpdateOptions = { lr: 0, momentum: 0, weightDecay: 0, meanOver: 1, noiseStd: 0, noiseSeed: 0, noiseStep: 0, adamw: null };
  private readonly adamw: AdamWStep = { beta1: 0, beta2: 0, eps: 0, t: 0 };

  constructor(
    readonly state: SharedState,
    readonly kernel: Kernel,
  ) {}

  /**
   * A worker's part in step `gen`: row items until none are left, then (for a training step) slices
   * until none are left. A slice that had to give up waiting for its rows is taken up again once
   * the rows pass is over.
   */
  run(gen: number): void {
    const ctrl = this.state.control;
    this.work(Phase.ROWS, gen);
    if (itemsOf(ctrl, Phase.SLICES) === 0) return;
    for (let waiting = this.work(Phase.SLICES, gen); waiting >= 0; waiting = this.resume(waiting, gen)) {
      if (!waitPhase(ctrl, Phase.ROWS, SPIN_MICROS)) return; // a worker failed: the step is over
    }
  }

  /**
   * Claims and does items of `phase` of step `gen` until none are left. Returns -1; or a claimed
   * slice that gave up waiting for its rows (the caller waits for the rows pass, then resumes it);
   * or PAUSED when `deadline` (a performance.now() time) passed before the next claim, with the
   * step's other items left to the other threads or to a later call.
   */
  work(phase: Phase, gen: number, deadline = Infinity): number {
    const ctrl = this.state.control;
    if (phase === Phase.SLICES) this.readHyper();
    for (let item = claim(ctrl, phase, gen); item >= 0; item = claim(ctrl, phase, gen)) {
      if (phase === Phase.ROWS) this.rowItem(item, gen);
      else if (!this.kernel.updateSlice(item, ctrl[Word.ROWS], this.update, gen)) return item;
      finish(ctrl, phase);
      if (deadline !== Infinity && performance.now() > deadline) return PAUSED;
    }
    return -1;
  }

  /** Does slice s, which gave up waiting for its rows, then goes on with the slices; returns as work does. */
  resume(s: number, gen: number, deadline = Infinity): number {
    const ctrl = this.state.control;
    if (!this.kernel.updateSlice(s, ctrl[Word.ROWS], this.update, gen)) return s;
    finish(ctrl, Phase.SLICES);
    return this.work(Phase.SLICES, gen, deadline);
  }

  /** Row item c of step `gen`: a training item's rows pass, or an evaluation item (its sums into results[c]). */
  private rowItem(c: number, gen: number): void {
    const ctrl = this.state.control;
    const items = ctrl[Word.ROW_ITEMS];
    const rows = ctrl[Word.ROWS];
    const lo = itemStart(rows, items, c);
    const hi = itemStart(rows, items, c + 1);
    if (ctrl[Word.OP] === Op.TRAIN) {
      this.kernel.trainRows(lo, hi, gen, this.state.hyper[Hyper.CLIP]);
      return;
    }
    const s = this.kernel.evaluate(this.state.split(SPLIT_IDS[ctrl[Word.SPLIT]]), lo, hi, this.predictionRows(lo, hi));
    const r = this.state.results;
    r[c * Result.COUNT + Result.LOSS] = s.loss;
    r[c * Result.COUNT + Result.CORRECT] = s.correct;
  }

  /** The step's update settings, as the coordinator wrote them (no object made per step). */
  private readHyper(): void {
    const h = this.state.hyper;
    const u = this.update;
    u.lr = h[Hyper.LR];
    u.momentum = h[Hyper.MOMENTUM];
    u.weightDecay = h[Hyper.WEIGHT_DECAY];
    u.meanOver = h[Hyper.MEAN_OVER];
    u.noiseStd = h[Hyper.NOISE_STD];
    u.noiseSeed = h[Hyper.NOISE_SEED];
    u.noiseStep = h[Hyper.NOISE_STEP];
    const a = this.adamw;
    a.beta1 = h[Hyper.BETA1];
    a.beta2 = h[Hyper.BETA2];
    a.eps = h[Hyper.EPS];
    a.t = h[Hyper.ADAM_T];
    u.adamw = h[Hyper.ADAMW] !== 0 ? a : null;
  }

  /** Where an evaluation item's class probabilities go, when they are kept. */
  private predictionRows(lo: number, hi: number): Float32Array | undefined {
    const p = this.state.predictions;
    if (p === null) return undefined;
    const C = this.state.layout.nClasses;
    return p.subarray(lo * C, hi * C);
  }
}
