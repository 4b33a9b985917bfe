import { RunError } from '../errors.js';
import type { MlpLayout } from '../model/layout.js';
import type { Stats } from '../nn/types.js';
import type { AdamWStep } from '../optim/adamw.js';
import type { SgdOptions } from '../optim/sgd.js';

/**
 * A training step's settings: SGD's, or AdamW's when `adamw` is given (then `momentum` must be 0 and
 * weight decay is decoupled), and optionally DP-SGD's (Opacus's semantics): each row's
 * gradient clipped to `clip` in L2 norm, Gaussian noise of standard deviation `noiseStd` added to
 * each summed element (drawn for `noiseStep` from `noiseSeed`: privacy/noise.ts), the sum divided
 * by `meanOver` (default: the batch's rows; under Poisson sampling, the expected batch size).
 */
export interface StepOptions extends SgdOptions {
  clip?: number;
  meanOver?: number;
  noiseStd?: number;
  noiseSeed?: number;
  noiseStep?: number;
  adamw?: AdamWStep;
}
import { WorkerPool, coreCount, spinnerCount } from './pool.js';
import type { SharedState, SplitName } from './shared-state.js';
import { Hyper, Op, Phase, Result, SPIN_MICROS, SPLIT_IDS, Word, openPhase, waitPhase } from './step-control.js';
import { PAUSED, StepWork } from './step-work.js';
import { evalItemCount, rowItemCount } from './work-plan.js';

/** A worker thread threw or exited: the run cannot go on. */
export class WorkerError extends RunError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerError';
  }
}

/** How often a waiting coordinator looks up from its wait to check on the workers. */
const CHECK_MS = 100;

/** How long the coordinator works on a step's items before it lets the event loop in (signals, pool events). */
const BUSY_MS = 100;

/** Lets the event loop run what is pending (signal handlers, the pool's events) before going on. */
const letEventsIn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * The coordinator. It computes on `threads` threads: itself and `threads - 1` pool workers (of
 * which one per core takes part in steps). Each step it writes the batch ids into shared memory,
 * publishes the step through the control words, and works on the step's row items and parameter
 * slices like any worker; the step is over when every item is done. With one thread there is no
 * pool and everything runs here, on the same code path.
 */
export class Engine {
  private readonly work: StepWork;
  private readonly pool: WorkerPool | null;
  /** cores this process may use: at most this many threads are woken for a step */
  private readonly cores: number;
  /** threads that compute in a step (one per core): the row items are cut for them */
  private readonly computing: number;
  private closed = false;
  private started = false;

  constructor(
    readonly state: SharedState,
    readonly threads: number,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
    if (state.setup.scratch.length < threads) throw new RangeError(`the shared state was laid out for ${state.setup.scratch.length} threads`);
    const spinners = spinnerCount(threads);
    this.cores = coreCount();
    this.computing = Math.min(threads, this.cores);
    this.work = new StepWork(state, state.kernel(0));
    this.pool = threads > 1 ? new WorkerPool(state.setup, threads - 1, spinners) : null;
  }

  get layout(): MlpLayout {
    return this.state.layout;
  }

  /** A copy of the parameters in the model layout (PyTorch's state_dict order and shapes). */
  weights(): Float32Array {
    return this.state.storage.toModel(this.state.params);
  }

  /** Sets the parameters from `weights`, in the model layout.   weights: [layout.count] */
  setWeights(weights: Float32Array): void {
    this.state.storage.store(weights, this.state.params);
  }

  /** A copy of SGD's momentum buffer in the model layout, or null without momentum. */
  momentumBuffer(): Float32Array | null {
    const m = this.state.momentum;
    return m && this.state.storage.toModel(m);
  }

  /** Sets SGD's momentum buffer from `buf`, in the model layout.   buf: [layout.count] */
  setMomentumBuffer(buf: Float32Array): void {
    const m = this.state.momentum;
    if (m === null) throw new Error('momentum needs a state created with momentum: true');
    this.state.storage.store(buf, m);
  }

  /** A copy of AdamW's second moment (exp_avg_sq) in the model layout, or null without one. AdamW's first moment is momentumBuffer(). */
  varianceBuffer(): Float32Array | null {
    const v = this.state.variance;
    return v && this.state.storage.toModel(v);
  }

  /** Sets AdamW's second moment from `buf`, in the model layout.   buf: [layout.count] */
  setVarianceBuffer(buf: Float32Array): void {
    const v = this.state.variance;
    if (v === null) throw new Error('AdamW\'s second moment needs a state created with variance: true');
    this.state.storage.store(buf, v);
  }

  /**
   * One SGD step on the samples whose ids are in `ids`: the rows pass (each row's forward and
   * backward), then the slices pass (the batch mean and the update). Returns the batch's summed loss
   * and correct count (measured before the update), the rows' losses added in row order; each row's
   * gradient norm is then in `state.factors.norm`. An empty batch (Poisson sampling can draw one)
   * still takes a step: weight decay, momentum and noise apply.
   */
  async step(ids: Int32Array, opt: StepOptions): Promise<Stats> {
    const bs = ids.length;
    if (bs > this.state.batch.length) throw new RangeError(`batch of ${bs} rows; this engine takes at most ${this.state.batch.length}`);
    const meanOver = opt.meanOver ?? bs;
    if (!(meanOver > 0)) throw new RangeError('an empty batch needs meanOver, the expected batch size to divide by');
    this.state.batch.set(ids);
    if (opt.momentum !== 0 && this.state.momentum === null) throw new Error('momentum needs a state created with momentum: true');
    if (opt.adamw && (this.state.momentum === null || this.state.variance === null)) throw new Error('AdamW needs a state created with momentum: true and variance: true');
    if (opt.adamw && opt.momentum !== 0) throw new Error('AdamW has no SGD momentum: its first moment uses beta1');
    const hyper = this.state.hyper;
    hyper[Hyper.LR] = opt.lr;
    hyper[Hyper.MOMENTUM] = opt.momentum;
    hyper[Hyper.WEIGHT_DECAY] = opt.weightDecay;
    hyper[Hyper.CLIP] = opt.clip ?? 0;
    hyper[Hyper.MEAN_OVER] = meanOver;
    hyper[Hyper.NOISE_STD] = opt.noiseStd ?? 0;
    hyper[Hyper.NOISE_SEED] = opt.noiseSeed ?? 0;
    hyper[Hyper.NOISE_STEP] = opt.noiseStep ?? 0;
    const a = opt.adamw;
    hyper[Hyper.ADAMW] = a ? 1 : 0;
    hyper[Hyper.BETA1] = a?.beta1 ?? 0;
    hyper[Hyper.BETA2] = a?.beta2 ?? 0;
    hyper[Hyper.EPS] = a?.eps ?? 0;
    hyper[Hyper.ADAM_T] = a?.t ?? 0;
    await this.run(Op.TRAIN, 0, bs, rowItemCount(bs, this.computing), this.state.plan.slices.length);
    const { loss: rowLoss, correct: rowCorrect } = this.state.factors;
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < bs; r++) {
      loss += rowLoss[r];
      correct += rowCorrect[r];
    }
    return { loss, correct };
  }

  /**
   * The rows pass alone, without an update: each training row in `ids` is run forward and backward,
   * unclipped. Its loss and the L2 norm of its per-sample gradient are then in `state.factors.loss`
   * and `state.factors.norm` [ids.length]. The parameters are left as they are.
   */
  async perSample(ids: Int32Array): Promise<void> {
    const bs = ids.length;
    if (bs > this.state.batch.length) throw new RangeError(`${bs} rows; this engine takes at most ${this.state.batch.length}`);
    this.state.batch.set(ids);
    this.state.hyper[Hyper.CLIP] = 0;
    await this.run(Op.TRAIN, 0, bs, rowItemCount(bs, this.computing), 0);
  }

  /**
   * Summed loss and correct count over a whole split, evaluated item by item. With a state made with
   * `predictions: true`, each row's class probabilities are then in `predictions(split)`.
   */
  async evaluate(split: SplitName): Promise<Stats> {
    const rows = this.state.split(split).n;
    const items = evalItemCount(rows);
    await this.run(Op.EVAL, SPLIT_IDS.indexOf(split), rows, items, 0);
    // the items' sums, added in item order (so the float sum is the same on every run)
    const r = this.state.results;
    let loss = 0;
    let correct = 0;
    for (let c = 0; c < items; c++) {
      loss += r[c * Result.COUNT + Result.LOSS];
      correct += r[c * Result.COUNT + Result.CORRECT];
    }
    return { loss, correct };
  }

  /** The class probabilities [rows, nClasses] the last evaluation of `split` wrote. */
  predictions(split: SplitName): Float32Array {
    const p = this.state.predictions;
    if (p === null) throw new Error('predictions need a state created with predictions: true');
    const C = this.layout.nClasses;
    return p.subarray(0, this.state.split(split).n * C);
  }

  private async run(op: Op, split: number, rows: number, rowItems: number, slices: number): Promise<void> {
    if (this.closed) throw new Error('the engine is closed');
    const ctrl = this.state.control;
    if (!this.started) await this.waitForWorkers();
    if (this.failed()) await this.raiseIfFailed();
    ctrl[Word.OP] = op;
    if (op === Op.TRAIN) ctrl[Word.STEP]++;
    ctrl[Word.SPLIT] = split;
    ctrl[Word.ROWS] = rows;
    const gen = (ctrl[Word.GEN] + 1) | 0;
    openPhase(ctrl, Phase.ROWS, gen, rowItems);
    openPhase(ctrl, Phase.SLICES, gen, slices);
    Atomics.store(ctrl, Word.GEN, gen);
    // Wake only the sleepers there is work and a core for: this thread and the spinning workers are
    // already running. More running threads than cores would only take turns on them.
    const awake = 1 + Atomics.load(ctrl, Word.SPINNING);
    const wake = Math.min(this.threads, rowItems, this.cores) - awake;
    if (wake > 0) Atomics.notify(ctrl, Word.GEN, wake);
    // Waiting goes through the event loop only when it lasts: a step allocates nothing otherwise.
    // So does this thread's own work, when a step is long: it lets the event loop in between two
    // items every BUSY_MS, so that a signal's handler runs within a fraction of a second.
    while (this.work.work(Phase.ROWS, gen, performance.now() + BUSY_MS) === PAUSED) await letEventsIn();
    if (slices === 0) {
      if (!waitPhase(ctrl, Phase.ROWS, SPIN_MICROS, CHECK_MS)) await this.waitFor(Phase.ROWS);
      return;
    }
    // The slices start at once, each reading a row when it is ready; one that gave up waiting for
    // its rows is taken up again when the rows pass is over. Every slice reads every row, so the
    // rows are all done when the slices are.
    let waiting = this.work.work(Phase.SLICES, gen, performance.now() + BUSY_MS);
    while (waiting !== -1) {
      if (waiting === PAUSED) {
        await letEventsIn();
        waiting = this.work.work(Phase.SLICES, gen, performance.now() + BUSY_MS);
        continue;
      }
      if (!waitPhase(ctrl, Phase.ROWS, SPIN_MICROS, CHECK_MS)) await this.waitFor(Phase.ROWS);
      waiting = this.work.resume(waiting, gen, performance.now() + BUSY_MS);
    }
    if (!waitPhase(ctrl, Phase.SLICES, SPIN_MICROS, CHECK_MS)) await this.waitFor(Phase.SLICES);
  }

  /**
   * Goes on waiting for a phase a first wait did not see done (it waited CHECK_MS, or a worker
   * failed), looking up between waits to check on the workers.
   */
  private async waitFor(phase: Phase): Promise<void> {
    do {
      // Let the pool's events (a worker's error or exit) through before waiting again.
      await letEventsIn();
      await this.raiseIfFailed();
    } while (!waitPhase(this.state.control, phase, SPIN_MICROS, CHECK_MS));
  }

  /**
   * Waits, before the first step, until every worker has started: a run then uses all its threads
   * from the first step, and a worker that cannot start is reported before any work.
   */
  private async waitForWorkers(): Promise<void> {
    const ctrl = this.state.control;
    while (Atomics.load(ctrl, Word.READY) < this.threads - 1) {
      await this.raiseIfFailed();
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    this.started = true;
  }

  /** Whether a worker has marked itself failed or the pool has reported a failure. */
  private failed(): boolean {
    return Atomics.load(this.state.control, Word.FAILED) !== 0 || this.pool?.failure != null;
  }

  /**
   * Throws a WorkerError if a worker has failed. A worker that throws marks the FAILED word at once;
   * its error (or a thread's exit) arrives through the pool's events, so give those a moment.
   */
  private async raiseIfFailed(): Promise<void> {
    const ctrl = this.state.control;
    if (!this.failed()) return;
    for (let i = 0; i < 100 && !this.pool?.failure; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const failed = Atomics.load(ctrl, Word.FAILED);
    const who = failed !== 0 ? `worker ${failed - 1}` : 'a worker';
    throw new WorkerError(`${who} failed during step ${ctrl[Word.STEP]}: ${this.pool?.failure?.message ?? 'no reason given'}`);
  }

  /** Stops the workers and ends their threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ctrl = this.state.control;
    Atomics.store(ctrl, Word.STOP, 1);
    Atomics.add(ctrl, Word.GEN, 1);
    Atomics.notify(ctrl, Word.GEN);
    Atomics.notify(ctrl, Word.STOP);
    await this.pool?.close();
  }
}
