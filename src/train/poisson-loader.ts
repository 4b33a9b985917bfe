import { philox4x32 } from '../privacy/noise.js';
import type { BatchLoader } from './data-loader.js';
import type { Sampler } from './sampler.js';

/** The key's second word for the batches' draws (the first is the run's seed): apart from the noise's. */
const SAMPLING_KEY = 0x2f8b11c5;

/**
 * Poisson sampling, as Opacus's DPDataLoader does it: each training row joins a step's batch on its
 * own with probability q = batchSize / n, so the batch size varies (Binomial(n, q); it can be 0).
 * It is what DP-SGD's privacy accounting assumes. A step's batch is a pure function of (seed, step):
 * the gaps between the rows it takes are geometric, drawn from a counter-based generator keyed by
 * them (Philox4x32-10), so it is the same at any thread count, and a resumed run draws what the
 * uninterrupted one would. An epoch is ceil(n / batchSize) steps, as with uniform batches.
 */
export class PoissonLoader implements BatchLoader {
  /** q: the chance that a row is in a step's batch */
  readonly sampleRate: number;
  /** the most rows a batch can have: q n plus 10 standard deviations and 10; a larger draw is refused */
  readonly maxBatch: number;
  /** nothing to record: a batch depends on the seed and the step alone */
  readonly sampler: Sampler = { epochOrder: () => new Int32Array(0), getState: () => null, setState: () => {} };
  private readonly ids: Int32Array;
  private readonly words = new Uint32Array(4);

  constructor(
    readonly n: number,
    readonly batchSize: number,
    readonly seed: number,
  ) {
    if (!(n >= 1 && batchSize >= 1 && batchSize <= n)) throw new RangeError(`Poisson sampling of batches of ${batchSize} from ${n} rows`);
    this.sampleRate = batchSize / n;
    const mean = this.sampleRate * n;
    this.maxBatch = Math.min(n, Math.ceil(mean + 10 * Math.sqrt(mean * (1 - this.sampleRate)) + 10));
    this.ids = new Int32Array(this.maxBatch);
  }

  /** Steps per epoch. */
  get length(): number {
    return Math.ceil(this.n / this.batchSize);
  }

  /** The batches of epoch `epoch` (from 1): steps (epoch - 1) * length + 1 ... epoch * length. */
  *epoch(epoch: number): Generator<Int32Array> {
    for (let b = 1; b <= this.length; b++) yield this.batch((epoch - 1) * this.length + b);
  }

  /** The rows of step `step`'s batch, ascending (a view, overwritten by the next call). */
  batch(step: number): Int32Array {
    const q = this.sampleRate;
    if (q >= 1) {
      for (let i = 0; i < this.n; i++) this.ids[i] = i; // every row, in this loader's own buffer as below
      return this.ids.subarray(0, this.n);
    }
    const logMiss = Math.log1p(-q);
    let size = 0;
    let row = -1;
    for (let draw = 0; ; draw++) {
      if ((draw & 3) === 0) philox4x32(draw >>> 2, step, 0, 0, this.seed, SAMPLING_KEY, this.words);
      const u = (this.words[draw & 3] + 0.5) / 4294967296; // (0, 1)
      // rows skipped before the next one taken: Geometric(q) on {0, 1, ...}
      row += 1 + Math.floor(Math.log(u) / logMiss);
      if (row >= this.n) break;
      if (size === this.maxBatch) throw new RangeError(`step ${step}'s Poisson batch has more than ${this.maxBatch} rows (q ${q}, ${this.n} rows): over 10 standard deviations above the mean`);
      this.ids[size++] = row;
    }
    return this.ids.subarray(0, size);
  }
}
