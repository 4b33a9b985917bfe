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
 * The input gradient, row by row: dx = dout @ W.
 *   dout: [rows, nOut], W: [nOut, nIn], dx: [rows, nIn]
 * Row r of dx depends on row r of dout alone. The parameters' gradient is linWeightGrad's.
 */
export function linBackward(dout: Floats, W: Floats, dx: Floats, rows: number, nIn: number, nOut: number): void {
  for (let r = 0; r < rows; r++) {
    const xr = r * nIn;
    for (let k = 0; k < nIn; k++) {
      let s = 0;
      for (let j = 0; j < nOut; j++) s += dout[r * nOut + j] * W[j * nIn + k];
      dx[xr + k] = s;
    }
  }
}

/** A linear layer's per-row factors over a batch: its input rows and its output gradient rows. */
export interface LinFactors {
  rows: number;
  nIn: number;
  /** input row r is x[at(r) .. at(r) + nIn) (the batch's data rows are not contiguous, a later layer's are) */
  x: Floats;
  at: (r: number) => number;
  /** output gradient row r is dout[r * doutStride ..]: [rows, doutStride] */
  dout: Floats;
  doutStride: number;
}

/**
 * The parameter gradient of output units [j0, j1), summed over the batch rows in row order (each
 * row's own gradient is the outer product dout_r ⊗ x_r, and 1 for the bias):
 *   dW[j, :] = sum_r dout[r, j] * x_r      db[j] = sum_r dout[r, j]
 *   dW: [j1 - j0, nIn] (overwritten), db: [j1 - j0]
 */
export function linWeightGrad(f: LinFactors, j0: number, j1: number, dW: Float64Array, db: Float64Array): void {
  const { rows, nIn, dout, doutStride } = f;
  dW.fill(0, 0, (j1 - j0) * nIn);
  for (let j = j0; j < j1; j++) {
    const w = (j - j0) * nIn;
    let sb = 0;
    for (let r = 0; r < rows; r++) {
      const d = dout[r * doutStride + j];
      sb += d;
      if (d === 0) continue; // a ReLU-masked unit adds nothing
      const x = f.x;
      const xr = f.at(r);
      for (let k = 0; k < nIn; k++) dW[w + k] += d * x[xr + k];
    }
    db[j - j0] = sb;
  }
}
