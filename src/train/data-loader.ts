import type { Sampler } from './sampler.js';

/** What the training loop takes its batches from: DataLoader (uniform batches) or PoissonLoader. */
export interface BatchLoader {
  /** what decides the batches, for checkpoints */
  readonly sampler: Sampler;
  /** steps per epoch */
  readonly length: number;
  /** the most rows a batch can have */
  readonly maxBatch: number;
  /** epoch `epoch`'s batches (from 1): sample ids, each batch a view valid until the next */
  epoch(epoch: number): Iterable<Int32Array>;
}

/**
 * Batches of sample ids, in the sampler's order. The last batch of an epoch holds the remainder when
 * the batch size does not divide the data (PyTorch's drop_last=False): its mean is over its own rows.
 */
export class DataLoader implements BatchLoader {
  constructor(
    readonly sampler: Sampler,
    readonly n: number,
    readonly batchSize: number,
  ) {}

  /** Batches per epoch. */
  get length(): number {
    return Math.ceil(this.n / this.batchSize);
  }

  get maxBatch(): number {
    return this.batchSize;
  }

  /** One epoch's batches, each a view of the epoch's order: ids [<= batchSize]. */
  *epoch(): Generator<Int32Array> {
    const order = this.sampler.epochOrder();
    for (let i = 0; i < this.n; i += this.batchSize) yield order.subarray(i, Math.min(i + this.batchSize, this.n));
  }
}
