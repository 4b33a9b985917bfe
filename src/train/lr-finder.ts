/**
 * fastai's learning-rate finder, the part that runs alongside training: the exponential sweep of
 * learning rates, the smoothed loss it records, and the rule that ends it. It mirrors fastai 2.7:
 * `LRFinder` and `SchedExp` in fastai/callback/schedule.py, `Recorder` and `AvgSmoothLoss` in
 * fastai/learner.py, `TrainEvalCallback` in fastai/callback/core.py. What to read from a finished
 * sweep (the suggested learning rates) is in lr-suggestions.ts.
 *
 * One iteration, in fastai's callback order:
 *   before_batch  LRFinder sets lr = SchedExp(start_lr, end_lr)(train_iter / num_it)   -> nextLr()
 *   the batch     forward, loss (measured before this step's update), backward, step with that lr
 *   after_batch   TrainEvalCallback (order -10): train_iter += 1
 *                 Recorder (after TrainEvalCallback): smooth_loss.accumulate(loss); records lr and
 *                 smooth_loss.value
 *                 LRFinder (order 60): best = min(best, smooth); stop if smooth > 4 * best (stop_div),
 *                 or if train_iter >= num_it                                          -> record(loss)
 * So the diverging iteration is recorded before the sweep stops, and a full sweep records num_it
 * iterations whose last lr is SchedExp at (num_it - 1) / num_it, short of end_lr.
 *
 * fastai holds the losses as float32 tensors; the smoothed loss and the stop rule here round as
 * float32 arithmetic does (Math.fround after each operation), so they compare as fastai's do.
 */

const f32 = Math.fround;

/** The sweep's settings, with fastai's names (`Learner.lr_find(start_lr, end_lr, num_it)`). */
export interface LrSweep {
  /** the first iteration's learning rate */
  startLr: number;
  /** the learning rate the sweep heads for (position 1); never reached, see sweepLr */
  endLr: number;
  /** iterations in a full sweep, as asked (fastai raises fewer than 6 to 6) */
  numIt: number;
}

/** `LRFinder.__init__` and `Learner.lr_find`'s defaults. */
export const LR_SWEEP_DEFAULTS: Readonly<LrSweep> = Object.freeze({ startLr: 1e-7, endLr: 10, numIt: 100 });

/** `AvgSmoothLoss`'s default, which `Recorder(beta=0.98)` uses. */
export const SMOOTH_LOSS_BETA = 0.98;

/** `LRFinder.stop_div`'s factor: the sweep stops once the smoothed loss exceeds 4 times its best. */
export const DIVERGENCE_FACTOR = 4;

/** The iterations a full sweep runs: `LRFinder.__init__` does `if num_it < 6: num_it = 6`. */
export function sweepIterations(numIt: number): number {
  return Math.max(numIt, 6);
}

/**
 * The epochs `Learner.lr_find` asks `fit` for: `num_it // len(dls.train) + 1`, enough for num_it
 * batches (the sweep ends by its own rule before they run out). It uses num_it as asked, not the
 * raised one: with num_it < 6 and tiny epochs the epochs can end before the 6th iteration.
 */
export function sweepEpochs(numIt: number, batchesPerEpoch: number): number {
  return Math.floor(numIt / batchesPerEpoch) + 1;
}

/** `sched_exp(start, end, pos)`: start * (end / start) ** pos, pos in [0, 1]. */
export function schedExp(start: number, end: number, pos: number): number {
  return start * (end / start) ** pos;
}

/**
 * The learning rate of iteration `iter` (0-based): `LRFinder.before_batch` evaluates SchedExp at
 * `train_iter / num_it`, and train_iter is still `iter` there (TrainEvalCallback bumps it in
 * after_batch). So iter 0 gets startLr exactly and the last of a full sweep, iter num_it - 1, gets
 * startLr * (endLr / startLr) ** ((num_it - 1) / num_it): with the defaults 10^0.92 ≈ 8.32, not 10.
 */
export function sweepLr(iter: number, sweep: LrSweep = LR_SWEEP_DEFAULTS): number {
  return schedExp(sweep.startLr, sweep.endLr, iter / sweepIterations(sweep.numIt));
}

/** Every learning rate of a full sweep, [sweepIterations(numIt)]. */
export function sweepLrs(sweep: LrSweep = LR_SWEEP_DEFAULTS): number[] {
  return Array.from({ length: sweepIterations(sweep.numIt) }, (_, i) => sweepLr(i, sweep));
}

/**
 * `AvgSmoothLoss`: an exponential moving average of the batch losses, debiased for its zero start.
 *   accumulate: count += 1; val = torch.lerp(loss, val, beta)     (= beta val + (1 - beta) loss)
 *   value:      val / (1 - beta ** count)
 * in float32, as fastai's tensors are. torch.lerp(start, end, w) computes
 * `end - (end - start) * (1 - w)` when |w| >= 0.5 and `start + w * (end - start)` otherwise
 * (ATen/native/Lerp.h); both forms are mirrored, since they round differently.
 */
export class SmoothLoss {
  /** batches accumulated */
  count = 0;
  /** the biased average, a float32 value */
  private val = 0;

  constructor(readonly beta: number = SMOOTH_LOSS_BETA) {}

  accumulate(loss: number): void {
    this.count += 1;
    const w = f32(this.beta);
    const start = f32(loss);
    const end = this.val;
    this.val =
      Math.abs(w) < 0.5 ? f32(start + f32(w * f32(end - start))) : f32(end - f32(f32(end - start) * f32(1 - w)));
  }

  /** The debiased average; NaN before the first accumulate, as fastai's 0 / 0. */
  get value(): number {
    // 1 - beta ** count is a Python float; dividing a float32 tensor by it rounds it to float32 first.
    return f32(this.val / f32(1 - this.beta ** this.count));
  }
}

/** Why a sweep ended: the smoothed loss diverged (stop_div), or all num_it iterations ran. */
export type SweepStop = 'diverged' | 'done';

/** One recorded iteration of the sweep. */
export interface SweepRecord {
  /** 0-based */
  iter: number;
  /** the learning rate the iteration's step used */
  lr: number;
  /** the batch's mean loss, measured before the step */
  loss: number;
  /** the smoothed loss fastai records for it (float32) */
  smoothLoss: number;
  /** the best smoothed loss so far, this iteration's included */
  bestLoss: number;
  /** set when the sweep ends after this iteration */
  stop: SweepStop | null;
}

export interface LrFinderOptions extends Partial<LrSweep> {
  /** `stop_div`: stop once the smoothed loss exceeds 4 times its best (default true) */
  stopDiv?: boolean;
  /** the smoothing factor (default 0.98) */
  beta?: number;
}

/**
 * One sweep, as fastai's `LRFinder` with the `Recorder` it reads: ask nextLr() before each step,
 * hand the batch's loss to record() after it, and stop when record() says so. `lrs` and `losses`
 * are what fastai's `recorder.lrs` and `recorder.losses` hold afterwards, the input of
 * lr-suggestions.ts's suggestionInputs and of the plot.
 */
export class LrFinder {
  readonly sweep: LrSweep;
  readonly stopDiv: boolean;
  /** the iterations of a full sweep (num_it raised to 6) */
  readonly iterations: number;
  /** [iterations recorded] the learning rate of each */
  readonly lrs: number[] = [];
  /** [iterations recorded] the smoothed loss of each (float32 values) */
  readonly losses: number[] = [];
  private readonly smooth: SmoothLoss;
  /** `LRFinder.best_loss`, starting at inf (before_fit) */
  private best = Infinity;
  private stopReason: SweepStop | null = null;

  constructor(opts: LrFinderOptions = {}) {
    this.sweep = {
      startLr: opts.startLr ?? LR_SWEEP_DEFAULTS.startLr,
      endLr: opts.endLr ?? LR_SWEEP_DEFAULTS.endLr,
      numIt: opts.numIt ?? LR_SWEEP_DEFAULTS.numIt,
    };
    const { startLr, endLr, numIt } = this.sweep;
    if (!(startLr > 0 && Number.isFinite(startLr))) throw new RangeError(`startLr must be a positive number, got ${startLr}`);
    if (!(endLr > 0 && Number.isFinite(endLr))) throw new RangeError(`endLr must be a positive number, got ${endLr}`);
    if (!Number.isInteger(numIt) || numIt < 1) throw new RangeError(`numIt must be a positive integer, got ${numIt}`);
    this.stopDiv = opts.stopDiv ?? true;
    this.smooth = new SmoothLoss(opts.beta ?? SMOOTH_LOSS_BETA);
    this.iterations = sweepIterations(numIt);
  }

  /** Why the sweep ended, or null while it goes on. */
  get stopped(): SweepStop | null {
    return this.stopReason;
  }

  /** The learning rate for the coming iteration (`LRFinder.before_batch`). */
  nextLr(): number {
    return sweepLr(this.lrs.length, this.sweep);
  }

  /** Records the iteration just run, whose batch had mean loss `loss` (`Recorder.after_batch`, then `LRFinder.after_batch`). */
  record(loss: number): SweepRecord {
    if (this.stopReason) throw new Error(`the sweep has ended (${this.stopReason}); start a new LrFinder`);
    const iter = this.lrs.length;
    const lr = this.nextLr();
    this.smooth.accumulate(loss);
    const smoothLoss = this.smooth.value;
    this.lrs.push(lr);
    this.losses.push(smoothLoss);
    const trainIter = iter + 1;
    // fastai's comparisons: a NaN smoothed loss is neither below the best nor above 4 times it, so
    // NaN never stops the sweep (lr_find drops it before suggesting); +inf does.
    if (smoothLoss < this.best) this.best = smoothLoss;
    if (this.stopDiv && smoothLoss > f32(DIVERGENCE_FACTOR * this.best)) this.stopReason = 'diverged';
    else if (trainIter >= this.iterations) this.stopReason = 'done';
    return { iter, lr, loss, smoothLoss, bestLoss: this.best, stop: this.stopReason };
  }
}
