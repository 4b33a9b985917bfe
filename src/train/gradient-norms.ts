/** Per-epoch statistics of the per-sample gradient norms (before clipping), as --json and --log report them. */
export interface NormStats {
  mean: number;
  /** numpy's median and 95th percentile: linear interpolation between the two nearest ranks */
  median: number;
  p95: number;
  max: number;
}

/**
 * The per-sample gradient norms of an epoch's rows, kept as float32 as they come, step by step: a
 * checkpoint taken within the epoch records them (train/checkpoint.ts) so that a resumed run reports
 * the same statistics as one that never stopped.
 */
export class GradientNorms {
  private values = new Float32Array(1024);
  private count = 0;

  /** Appends a step's rows' norms. */
  add(norms: ArrayLike<number>): void {
    if (this.count + norms.length > this.values.length) {
      const grown = new Float32Array(Math.max(2 * this.values.length, this.count + norms.length));
      grown.set(this.values.subarray(0, this.count));
      this.values = grown;
    }
    for (let i = 0; i < norms.length; i++) this.values[this.count++] = norms[i];
  }

  /** The norms so far (a view). */
  get list(): Float32Array {
    return this.values.subarray(0, this.count);
  }

  /** Starts an epoch over, from `from` (a resumed epoch's norms) or empty. */
  reset(from: ArrayLike<number> = []): void {
    this.count = 0;
    this.add(from);
  }

  /** mean, median, p95 and max of the norms so far; null before any. */
  stats(): NormStats | null {
    const n = this.count;
    if (n === 0) return null;
    const sorted = this.values.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.values[i];
    return { mean: sum / n, median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), max: sorted[n - 1] };
  }
}

/** The q-quantile of sorted values by linear interpolation between ranks (numpy's default). */
function quantile(sorted: Float32Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}
