import { predictedClass } from './confusion.js';

/**
 * The rows that cost the most, as fastai's plot_top_losses finds them (mislabelled digits, odd
 * handwriting): ranked by their loss, or by the L2 norm of their per-sample gradient, which is what
 * DP-SGD's clipping bounds.
 */

export const RANK_KEYS = ['loss', 'grad-norm'] as const;
export type RankKey = (typeof RANK_KEYS)[number];

export interface RankedRow {
  /** row index in the split */
  row: number;
  label: number;
  predicted: number;
  /** the predicted class's probability */
  confidence: number;
  /** the row's cross-entropy: logsumexp(z) - z[label] */
  loss: number;
  /** the L2 norm of the row's whole per-sample gradient (every layer's weights and biases) */
  gradNorm: number;
}

export interface PerSampleValues {
  /** [n] each row's loss */
  loss: Float64Array;
  /** [n] each row's per-sample gradient norm */
  norm: Float64Array;
  /** [n, C] class probabilities */
  probs: Float32Array;
  /** [n] labels */
  labels: Int32Array;
}

/** The `k` rows with the highest `by`, highest first; equal values keep row order (the same pick on every run). */
export function topRows(v: PerSampleValues, by: RankKey, k: number): RankedRow[] {
  const n = v.labels.length;
  const C = v.probs.length / n;
  const key = by === 'loss' ? v.loss : v.norm;
  if (key.length !== n || !Number.isInteger(C)) throw new RangeError(`per-sample values of ${key.length} rows and probabilities [${v.probs.length}] for ${n} labels`);
  const order = Array.from({ length: n }, (_, r) => r);
  order.sort((a, b) => key[b] - key[a] || a - b);
  return order.slice(0, Math.max(0, k)).map((row) => {
    const predicted = predictedClass(v.probs, row, C);
    return { row, label: v.labels[row], predicted, confidence: v.probs[row * C + predicted], loss: v.loss[row], gradNorm: v.norm[row] };
  });
}

/** What a ranking is by, in words: "loss", "per-sample gradient norm". */
export function rankKeyText(by: RankKey): string {
  return by === 'loss' ? 'loss' : 'per-sample gradient norm';
}
