import { Rng } from '../rng.js';

/** The order in which an epoch visits the samples. */
export interface Sampler {
  /** sample ids [n] for the next epoch */
  epochOrder(): Int32Array;
  /** what decides the next epochOrder() (null when nothing does), for checkpoints */
  getState(): number[] | null;
  setState(state: number[]): void;
}

/** 0, 1, ..., n-1 every epoch: the lesson's unshuffled loop. */
export class SequentialSampler implements Sampler {
  private readonly order: Int32Array;
  constructor(n: number) {
    this.order = Int32Array.from({ length: n }, (_, i) => i);
  }
  epochOrder(): Int32Array {
    return this.order;
  }
  getState(): null {
    return null;
  }
  setState(): void {}
}

/** A fresh seeded permutation every epoch; the same seed gives the same sequence of epochs. */
export class RandomSampler implements Sampler {
  readonly rng: Rng;
  private readonly order: Int32Array;
  constructor(n: number, seed: number) {
    this.rng = new Rng(seed);
    this.order = new Int32Array(n);
  }
  epochOrder(): Int32Array {
    for (let i = 0; i < this.order.length; i++) this.order[i] = i;
    this.rng.shuffle(this.order);
    return this.order;
  }
  getState(): number[] {
    return this.rng.getState();
  }
  setState(state: number[]): void {
    this.rng.setState(state);
  }
}
