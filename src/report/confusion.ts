/**
 * What a model got right and wrong, from its class probabilities. Pure functions over
 *   probs:  [n, C] float32, row r holds softmax(logits of row r)
 *   labels: [n] true class ids in [0, C)
 * A row's prediction is its most probable class; ties go to the lower class, as the loss's correct
 * count does (correctRows).
 */

/** The predicted class of row r: argmax over probs[r, :], the first maximum on a tie. */
export function predictedClass(probs: Float32Array, r: number, C: number): number {
  const off = r * C;
  let best = 0;
  for (let c = 1; c < C; c++) if (probs[off + c] > probs[off + best]) best = c;
  return best;
}

/**
 * The confusion matrix: m[t][p] = how many rows of true class t were predicted as p.   m: [C][C]
 * Row t sums to the number of rows labelled t; the diagonal holds the correct ones.
 */
export function confusionMatrix(probs: Float32Array, labels: Int32Array, C: number): number[][] {
  const n = labels.length;
  if (probs.length !== n * C) throw new RangeError(`probabilities [${probs.length}] are not [${n}, ${C}]`);
  const m = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  for (let r = 0; r < n; r++) {
    const t = labels[r];
    if (!(t >= 0 && t < C)) throw new RangeError(`label ${t} of row ${r} is not a class in [0, ${C})`);
    m[t][predictedClass(probs, r, C)]++;
  }
  return m;
}

export interface ClassAccuracy {
  label: number;
  /** rows whose true class is `label` */
  count: number;
  /** of those, the ones predicted as `label` */
  correct: number;
  /** correct / count; null for a class with no rows (0/0 is no accuracy) */
  accuracy: number | null;
}

/** Each class's accuracy, read off the confusion matrix [C][C] (so the two always agree). */
export function perClassAccuracy(confusion: number[][]): ClassAccuracy[] {
  return confusion.map((row, label) => {
    const count = row.reduce((a, b) => a + b, 0);
    const correct = row[label];
    return { label, count, correct, accuracy: count > 0 ? correct / count : null };
  });
}

export interface WrongPrediction {
  /** row index in the split */
  row: number;
  label: number;
  predicted: number;
  /** the predicted class's probability: how sure the model was of its mistake */
  confidence: number;
}

/**
 * The `k` most confidently wrong rows: those whose prediction is not the label, by the predicted
 * class's probability, highest first; equal probabilities keep row order (so the pick is the same
 * on every run).
 */
export function mostConfidentlyWrong(probs: Float32Array, labels: Int32Array, C: number, k: number): WrongPrediction[] {
  const n = labels.length;
  if (probs.length !== n * C) throw new RangeError(`probabilities [${probs.length}] are not [${n}, ${C}]`);
  const wrong: WrongPrediction[] = [];
  for (let r = 0; r < n; r++) {
    const p = predictedClass(probs, r, C);
    if (p !== labels[r]) wrong.push({ row: r, label: labels[r], predicted: p, confidence: probs[r * C + p] });
  }
  wrong.sort((a, b) => b.confidence - a.confidence || a.row - b.row);
  return wrong.slice(0, Math.max(0, k));
}
