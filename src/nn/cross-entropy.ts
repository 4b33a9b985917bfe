import type { Floats, Stats } from './types.js';

/** log(sum(exp(v))) over v[off .. off+n), stable for large logits: max + log(sum(exp(v - max))). */
export function logsumexp(v: Floats, off: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) if (v[off + i] > m) m = v[off + i];
  if (m === -Infinity || m === Infinity) return m;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(v[off + i] - m);
  return m + Math.log(s);
}

/**
 * Cross-entropy through logsumexp, summed over rows: `log p = out - logsumexp(out)`, loss = -log p[y].
 * When dlogits is given, also the gradient of the summed loss with respect to the logits:
 * `dlogits = softmax(out) - onehot(y)`.
 *   logits, dlogits: [rows, nClasses], labels: [rows]
 * Returns the loss sum and how many rows' largest logit is the label (ties go to the lower class).
 */
export function softmaxCrossEntropy(
  logits: Floats,
  labels: Int32Array,
  dlogits: Floats | null,
  rows: number,
  nClasses: number,
): Stats {
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const off = r * nClasses;
    const lse = logsumexp(logits, off, nClasses);
    const label = labels[r];
    loss -= logits[off + label] - lse;
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (logits[off + c] > logits[off + best]) best = c;
    if (best === label) correct++;
    if (dlogits !== null) {
      for (let c = 0; c < nClasses; c++) dlogits[off + c] = Math.exp(logits[off + c] - lse) - (c === label ? 1 : 0);
    }
  }
  return { loss, correct };
}
