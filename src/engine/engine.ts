import type { MlpLayout } from '../model/layout.js';
import type { Stats } from '../nn/types.js';
import { SGD } from '../optim/sgd.js';
import { chunkCount, evalChunkCount } from './chunks.js';
import type { SharedState, SplitName } from './shared-state.js';

/**
 * Runs training steps and evaluations over a SharedState. How the chunks are computed (in this
 * thread or on a pool of workers) is the subclass's business; what is computed, and the order in
 * which results are combined, is fixed here, so every engine gives the same bytes.
 */
export abstract class Engine {
  readonly optimizer: SGD;

  constructor(readonly state: SharedState) {
    this.optimizer = new SGD(0);
  }

  get layout(): MlpLayout {
    return this.state.layout;
  }

  /** The flat parameter block [P], shared with the workers. */
  get params(): Float32Array {
    return this.state.params;
  }

  /**
   * One SGD step on the samples whose ids are in `ids`: chunk gradients, then the batch mean and the
   * update. Returns the batch's summed loss and correct count (before the update).
   */
  async step(ids: Int32Array, lr: number): Promise<Stats> {
    const bs = ids.length;
    if (bs < 1 || bs > this.state.batch.length) throw new RangeError(`batch of ${bs} rows; this engine takes 1 to ${this.state.batch.length}`);
    this.state.batch.set(ids);
    const n = chunkCount(bs);
    const perChunk = await this.chunkGradients(bs, n);
    this.optimizer.lr = lr;
    await this.update(n, bs);
    return sumInOrder(perChunk);
  }

  /** Summed loss and correct count over a whole split, evaluated chunk by chunk. */
  async evaluate(split: SplitName): Promise<Stats> {
    const s = this.state.split(split);
    const n = evalChunkCount(s.n);
    return sumInOrder(await this.evalChunks(split, s.n, n));
  }

  /** Chunk c of the batch (rows chunkRange(bs, n, c) of state.batch) into gradient slot c; stats in chunk order. */
  protected abstract chunkGradients(bs: number, n: number): Promise<Stats[]>;
  /** The batch-mean SGD update over all parameters, from the first n slots. */
  protected abstract update(n: number, bs: number): Promise<void>;
  /** Evaluation chunk c covers rows chunkRange(rows, n, c) of the split; stats in chunk order. */
  protected abstract evalChunks(split: SplitName, rows: number, n: number): Promise<Stats[]>;

  abstract close(): Promise<void>;
}

/** Sums per-chunk stats in chunk order (so the float sum is the same on every run). */
export function sumInOrder(stats: readonly Stats[]): Stats {
  let loss = 0;
  let correct = 0;
  for (const s of stats) {
    loss += s.loss;
    correct += s.correct;
  }
  return { loss, correct };
}
