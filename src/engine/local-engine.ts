import type { Kernel } from '../kernels/kernel.js';
import type { Stats } from '../nn/types.js';
import { chunkRange } from './chunks.js';
import { Engine } from './engine.js';
import type { SharedState, SplitName } from './shared-state.js';

/**
 * Every chunk computed in the calling thread, one after another: the reference the parallel engine
 * must match byte for byte, and the simplest way to train from code.
 */
export class LocalEngine extends Engine {
  private readonly kernel: Kernel;

  constructor(state: SharedState) {
    super(state);
    this.kernel = state.kernel(0);
  }

  protected async chunkGradients(bs: number, n: number): Promise<Stats[]> {
    const { params, slots, batch } = this.state;
    const P = params.length;
    const train = this.state.split('train');
    const out: Stats[] = [];
    for (let c = 0; c < n; c++) {
      const [lo, hi] = chunkRange(bs, n, c);
      out.push(this.kernel.gradient(params, train, batch, lo, hi, slots.subarray(c * P, (c + 1) * P)));
    }
    return out;
  }

  protected async update(n: number, bs: number): Promise<void> {
    this.optimizer.updateSlice(this.state.params, this.state.slots, n, bs, 0, this.state.params.length);
  }

  protected async evalChunks(split: SplitName, rows: number, n: number): Promise<Stats[]> {
    const s = this.state.split(split);
    const out: Stats[] = [];
    for (let c = 0; c < n; c++) {
      const [lo, hi] = chunkRange(rows, n, c);
      out.push(this.kernel.evaluate(this.state.params, s, lo, hi));
    }
    return out;
  }

  async close(): Promise<void> {}
}
