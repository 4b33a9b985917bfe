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

/** Where a layer's input rows lie: row r is x[at(r) .. at(r) + nIn). */
export interface InputRows {
  x: Floats;
  at: (r: number) => number;
}

/**
 * The parameter gradient of output units [j0, j1), summed over the batch rows in row order (each
 * row's own gradient is the outer product dout_r ⊗ x_r, and 1 for the bias):
 *   dW[j, :] = sum_r dout[r, j] * x_r      db[j] = sum_r dout[r, j]
 *   dout: [rows, doutStride], dW: [j1 - j0, nIn] (overwritten), db: [j1 - j0]
 */
export function linWeightGrad(input: InputRows, dout: Floats, doutStride: number, rows: number, nIn: number, j0: number, j1: number, dW: Float64Array, db: Float64Array): void {
  dW.fill(0, 0, (j1 - j0) * nIn);
  for (let j = j0; j < j1; j++) {
    const w = (j - j0) * nIn;
    let sb = 0;
    for (let r = 0; r < rows; r++) {
      const d = dout[r * doutStride + j];
      sb += d;
      if (d === 0) continue; // a ReLU-masked unit adds nothing
      const x = input.x;
      const xr = input.at(r);
      for (let k = 0; k < nIn; k++) dW[w + k] += d * x[xr + k];
    }
    db[j - j0] = sb;
  }
}
