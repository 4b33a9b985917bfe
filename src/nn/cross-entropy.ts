import type { Floats } from './types.js';

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
 * Cross-entropy through logsumexp, row by row: `log p = out - logsumexp(out)`, loss[r] = -log p[y].
 *   logits: [rows, nClasses], labels: [rows], losses: [rows]
 */
export function crossEntropyForward(logits: Floats, labels: Int32Array, losses: Float64Array, rows: number, nClasses: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * nClasses;
    losses[r] = logsumexp(logits, off, nClasses) - logits[off + labels[r]];
  }
}

/**
 * The gradient of each row's loss with respect to its logits: `dlogits = softmax(out) - onehot(y)`.
 *   logits, dlogits: [rows, nClasses], labels: [rows]
 */
export function crossEntropyBackward(logits: Floats, labels: Int32Array, dlogits: Floats, rows: number, nClasses: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * nClasses;
    const lse = logsumexp(logits, off, nClasses);
    for (let c = 0; c < nClasses; c++) dlogits[off + c] = Math.exp(logits[off + c] - lse) - (c === labels[r] ? 1 : 0);
  }
}

/**
 * correct[r] = 1 when row r's largest logit is its label (ties go to the lower class), else 0.
 *   logits: [rows, nClasses], labels, correct: [rows]
 */
export function correctRows(logits: Floats, labels: Int32Array, correct: Int32Array, rows: number, nClasses: number): void {
  for (let r = 0; r < rows; r++) {
    const off = r * nClasses;
    let best = 0;
    for (let c = 1; c < nClasses; c++) if (logits[off + c] > logits[off + best]) best = c;
    correct[r] = best === labels[r] ? 1 : 0;
  }
}
