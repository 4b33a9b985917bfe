import type { Floats } from './types.js';

/**
 * The linear layer, `lin(x) = x @ W.T + b`, with W stored [nOut, nIn] as PyTorch's nn.Linear does.
 * Sums run in float64 (JS numbers) and are rounded once when stored, in a fixed order.
 */

/** out = x @ W.T + b.   x: [rows, nIn], W: [nOut, nIn], b: [nOut], out: [rows, nOut] */
export function linForward(x: Floats, W: Floats, b: Floats, out: Floats, rows: number, nIn: number, nOut: number): void {
  for (let r = 0; r < rows; r++) {
    const xr = r * nIn;
    for (let j = 0; j < nOut; j++) {
      const wj = j * nIn;
      let s = b[j];
      for (let k = 0; k < nIn; k++) s += x[xr + k] * W[wj + k];
      out[r * nOut + j] = s;
    }
  }
}

/**
 * The backward pass, summed over the rows (the batch mean is taken later, once, for the whole batch):
 *   dW = dout^T @ x        dout: [rows, nOut], x: [rows, nIn], dW: [nOut, nIn]
 *   db = sum_rows dout     db: [nOut]
 *   dx = dout @ W          dx: [rows, nIn] (skipped when null: the input layer needs no dx)
 * dW and db are overwritten. Each output row is summed in a float64 row `acc` [nIn]
 * so the inner loops run over contiguous memory.
 */
export function linBackward(
  x: Floats,
  W: Floats,
  dout: Floats,
  dW: Floats,
  db: Floats,
  dx: Floats | null,
  rows: number,
  nIn: number,
  nOut: number,
): void {
  const acc = accumulator(nIn);
  for (let j = 0; j < nOut; j++) {
    // dW[j, :] = sum_r dout[r, j] * x[r, :]
    acc.fill(0, 0, nIn);
    let sb = 0;
    for (let r = 0; r < rows; r++) {
      const d = dout[r * nOut + j];
      sb += d;
      if (d === 0) continue; // a ReLU-masked unit adds nothing
      const xr = r * nIn;
      for (let k = 0; k < nIn; k++) acc[k] += d * x[xr + k];
    }
    const wj = j * nIn;
    for (let k = 0; k < nIn; k++) dW[wj + k] = acc[k];
    db[j] = sb;
  }
  if (dx === null) return;
  for (let r = 0; r < rows; r++) {
    // dx[r, :] = sum_j dout[r, j] * W[j, :]
    acc.fill(0, 0, nIn);
    for (let j = 0; j < nOut; j++) {
      const d = dout[r * nOut + j];
      const wj = j * nIn;
      for (let k = 0; k < nIn; k++) acc[k] += d * W[wj + k];
    }
    const xr = r * nIn;
    for (let k = 0; k < nIn; k++) dx[xr + k] = acc[k];
  }
}

/** A float64 scratch row, reused between calls (each thread has its own module instance). */
let scratch = new Float64Array(0);
function accumulator(n: number): Float64Array {
  if (scratch.length < n) scratch = new Float64Array(n);
  return scratch;
}
