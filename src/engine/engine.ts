import { RunError } from '../errors.js';
import type { MlpLayout } from '../model/layout.js';
import type { Stats } from '../nn/types.js';
import type { SgdOptions } from '../optim/sgd.js';
import { chunkCount, evalChunkCount } from './chunks.js';
import { WorkerPool, coreCount, spinnerCount } from './pool.js';
import type { SharedState, SplitName } from './shared-state.js';
import { Op, SPIN_MICROS, SPLIT_IDS, Word, openClaim, waitPhase } from './step-control.js';
import { StepWork } from './step-work.js';

/** A worker thread threw or exited: the run cannot go on. */
export class WorkerError extends RunError {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerError';
  }
}

/** How often a waiting coordinator looks up from its wait to check on the workers. */
const CHECK_MS = 100;

/**
 * The coordinator. It computes on `threads` threads: itself and `threads - 1` pool workers. Each
 * step it writes the batch ids into shared memory, publishes the step through the control words,
 * and works on the step's chunks and parameter slices like any worker; the step is over when every
 * item is done. With one thread there is no pool and everything runs here, on the same code path.
 */
export class Engine {
  private readonly work: StepWork;
  private readonly pool: WorkerPool | null;
  /** cores this process may use: at most this many threads are woken for a step */
  private readonly cores: number;
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

  /**
   * One SGD step on the samples whose ids are in `ids`: chunk gradients, then the batch mean and the
   * update. Returns the batch's summed loss and correct count (measured before the update).
   */
  async step(ids: Int32Array, opt: SgdOptions): Promise<Stats> {
    const bs = ids.length;
    if (bs < 1 || bs > this.state.batch.length) throw new RangeError(`batch of ${bs} rows; this engine takes 1 to ${this.state.batch.length}`);
    this.state.batch.set(ids);
    if (opt.momentum !== 0 && this.state.momentum === null) throw new Error('momentum needs a state created with momentum: true');
    const hyper = this.state.hyper;
    hyper[0] = opt.lr;
    hyper[1] = opt.momentum;
    hyper[2] = opt.weightDecay;
    const n = chunkCount(bs);
    await this.run(Op.TRAIN, 0, bs, n, Math.min(this.threads, n));
    return this.sumResults(n);
  }

  /**
   * Summed loss and correct count over a whole split, evaluated chunk by chunk. With a state made with
   * `predictions: true`, each row's class probabilities are then in `predictions(split)`.
   */
  async evaluate(split: SplitName): Promise<Stats> {
    const rows = this.state.split(split).n;
    const n = evalChunkCount(rows);
    await this.run(Op.EVAL, SPLIT_IDS.indexOf(split), rows, n, 0);
    return this.sumResults(n);
  }

  /** The class probabilities [rows, nClasses] the last evaluation of `split` wrote. */
  predictions(split: SplitName): Float32Array {
    const p = this.state.predictions;
    if (p === null) throw new Error('predictions need a state created with predictions: true');
    const C = this.layout.sizes[this.layout.sizes.length - 1];
    return p.subarray(0, this.state.split(split).n * C);
  }

  private async run(op: Op, split: number, rows: number, n0: number, n1: number): Promise<void> {
    if (this.closed) throw new Error('the engine is closed');
    const ctrl = this.state.control;
    if (!this.started) await this.waitForWorkers();
    if (this.failed()) await this.raiseIfFailed();
    ctrl[Word.OP] = op;
    if (op === Op.TRAIN) ctrl[Word.STEP]++;
    ctrl[Word.SPLIT] = split;
    ctrl[Word.ROWS] = rows;
    ctrl[Word.N0] = n0;
    ctrl[Word.N1] = n1;
    Atomics.store(ctrl, Word.DONE0, 0);
    Atomics.store(ctrl, Word.DONE1, 0);
    const gen = (ctrl[Word.GEN] + 1) | 0;
    Atomics.store(ctrl, Word.CLAIM0, openClaim(gen));
    Atomics.store(ctrl, Word.CLAIM1, openClaim(gen));
    Atomics.store(ctrl, Word.GEN, gen);
    // Wake only the sleepers there is work and a core for: this thread and the spinning workers are
    // already running. More running threads than cores would only take turns on them.
    const awake = 1 + Atomics.load(ctrl, Word.SPINNING);
    const wake = Math.min(this.threads, n0, this.cores) - awake;
    if (wake > 0) Atomics.notify(ctrl, Word.GEN, wake);
    // Waiting goes through the event loop only when it lasts: a step allocates nothing otherwise.
    this.work.chunks(gen);
    if (!waitPhase(ctrl, 0, SPIN_MICROS, CHECK_MS)) await this.waitFor(0);
    if (n1 > 0) {
      this.work.slices(gen);
      if (!waitPhase(ctrl, 1, SPIN_MICROS, CHECK_MS)) await this.waitFor(1);
    }
  }

  /**
   * Goes on waiting for a phase a first wait did not see done (it waited CHECK_MS, or a worker
   * failed), looking up between waits to check on the workers.
   */
  private async waitFor(phase: 0 | 1): Promise<void> {
    do {
      // Let the pool's events (a worker's error or exit) through before waiting again.
      await new Promise((resolve) => setImmediate(resolve));
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

  /** The chunks' [loss, correct], summed in chunk order (so the float sum is the same on every run). */
  private sumResults(n: number): Stats {
    const r = this.state.results;
    let loss = 0;
    let correct = 0;
    for (let c = 0; c < n; c++) {
      loss += r[2 * c];
      correct += r[2 * c + 1];
    }
    return { loss, correct };
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
