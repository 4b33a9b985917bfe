// The dense path: register-blocked f32x4 tiles over W [nOut, nIn] (PyTorch's layout: as the
// parameters hold it, or copied out of the stored Wᵀ for the first layer).
//   forward      act[b, j] = b[j] + sum_k x[b, k] W[j, k]     2 rows x 4 outputs, vectors along k
//   weight grad  dW[j, k]  = sum_b dz[b, j] x[b, k]           4 outputs x 8 inputs, b ascending
// Each dot product runs along k in 4 lanes, reduced in a fixed order (hsum4), then the k tail.

import { Layer } from './layout';
import { at4, hsum4, keepLanes, madd, relu4, zero4 } from './simd';

/**
 * act = x @ W.T + b (then the ReLU if `relu`); lanes past nOut are zeroed.
 *   x: [rows, nIn] through rowsTbl, W: [nOut, nIn], act: [rows, sOut]
 */
export function denseForward(L: Layer, W: usize, rows: i32, relu: bool): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const sOut = L.sOut;
  const wRow = <usize>nIn << 2;
  let b: i32 = 0;
  for (; b + 2 <= rows; b += 2) {
    const x0 = load<usize>(at4(L.rowsTbl, b));
    const x1 = load<usize>(at4(L.rowsTbl, b + 1));
    const out = L.act + ((<usize>b * <usize>sOut) << 2);
    for (let j: i32 = 0; j < nOut; j += 4) {
      // rows past nOut repeat the last one (valid memory); their lanes are dropped by keepLanes
      const w0 = W + <usize>j * wRow;
      const w1 = W + <usize>min(j + 1, nOut - 1) * wRow;
      const w2 = W + <usize>min(j + 2, nOut - 1) * wRow;
      const w3 = W + <usize>min(j + 3, nOut - 1) * wRow;
      let a00 = zero4(), a01 = zero4(), a02 = zero4(), a03 = zero4();
      let a10 = zero4(), a11 = zero4(), a12 = zero4(), a13 = zero4();
      let k: i32 = 0;
      for (; k + 4 <= nIn; k += 4) {
        const o = <usize>k << 2;
        const xa = v128.load(x0 + o);
        const xb = v128.load(x1 + o);
        let w = v128.load(w0 + o);
        a00 = madd(xa, w, a00);
        a10 = madd(xb, w, a10);
        w = v128.load(w1 + o);
        a01 = madd(xa, w, a01);
        a11 = madd(xb, w, a11);
        w = v128.load(w2 + o);
        a02 = madd(xa, w, a02);
        a12 = madd(xb, w, a12);
        w = v128.load(w3 + o);
        a03 = madd(xa, w, a03);
        a13 = madd(xb, w, a13);
      }
      let r0 = hsum4(a00, a01, a02, a03);
      let r1 = hsum4(a10, a11, a12, a13);
      for (; k < nIn; k++) {
        const o = <usize>k << 2;
        const w = f32x4(load<f32>(w0 + o), load<f32>(w1 + o), load<f32>(w2 + o), load<f32>(w3 + o));
        r0 = madd(v128.load32_splat(x0 + o), w, r0);
        r1 = madd(v128.load32_splat(x1 + o), w, r1);
      }
      const bias = v128.load(at4(L.bias, j));
      r0 = keepLanes(f32x4.add(r0, bias), nOut - j);
      r1 = keepLanes(f32x4.add(r1, bias), nOut - j);
      v128.store(at4(out, j), relu ? relu4(r0) : r0);
      v128.store(at4(out + (<usize>sOut << 2), j), relu ? relu4(r1) : r1);
    }
  }
  if (b < rows) {
    // the odd last row
    const x0 = load<usize>(at4(L.rowsTbl, b));
    const out = L.act + ((<usize>b * <usize>sOut) << 2);
    for (let j: i32 = 0; j < nOut; j += 4) {
      const w0 = W + <usize>j * wRow;
      const w1 = W + <usize>min(j + 1, nOut - 1) * wRow;
      const w2 = W + <usize>min(j + 2, nOut - 1) * wRow;
      const w3 = W + <usize>min(j + 3, nOut - 1) * wRow;
      let a0 = zero4(), a1 = zero4(), a2 = zero4(), a3 = zero4();
      let k: i32 = 0;
      for (; k + 4 <= nIn; k += 4) {
        const o = <usize>k << 2;
        const xa = v128.load(x0 + o);
        a0 = madd(xa, v128.load(w0 + o), a0);
        a1 = madd(xa, v128.load(w1 + o), a1);
        a2 = madd(xa, v128.load(w2 + o), a2);
        a3 = madd(xa, v128.load(w3 + o), a3);
      }
      let r0 = hsum4(a0, a1, a2, a3);
      for (; k < nIn; k++) {
        const o = <usize>k << 2;
        const w = f32x4(load<f32>(w0 + o), load<f32>(w1 + o), load<f32>(w2 + o), load<f32>(w3 + o));
        r0 = madd(v128.load32_splat(x0 + o), w, r0);
      }
      r0 = keepLanes(f32x4.add(r0, v128.load(at4(L.bias, j))), nOut - j);
      v128.store(at4(out, j), relu ? relu4(r0) : r0);
    }
  }
}

/**
 * dW = dz^T @ x, overwriting dW (the gradient block, or scratch to be transposed into it), b ascending per element.
 * 4x2 tiles (4 outputs x 8 inputs) with the input block outermost, so the chunk's x columns stay in
 * L1 while every output block passes over them. (A 5x2 tile measured slower here: V8 hoists its
 * five splats and spills accumulators.)
 *   dz = dact: [rows, sOut], x: [rows, nIn] through rowsTbl, dW: [nOut, nIn]
 */
export function denseWeightGrad(L: Layer, dW: usize, rows: i32): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const j4 = nOut & ~3; // outputs in whole 4-tiles
  const k8 = nIn & ~7; // inputs in whole 8-tiles
  for (let k: i32 = 0; k < k8; k += 8) {
    for (let j: i32 = 0; j < j4; j += 4) dw4x2(L, dW, rows, j, k);
  }
  // the edges: leftover inputs for the tiled outputs, then every input for the leftover outputs
  for (let j: i32 = 0; j < nOut; j += 4) {
    const n = min(4, nOut - j);
    let k = j < j4 ? k8 : 0;
    for (; k + 4 <= nIn; k += 4) dwNx1(L, dW, rows, j, n, k);
    for (; k < nIn; k++) dwScalar(L, dW, rows, j, n, k);
  }
}

/** The 4x2 tile: dW[j:j+4, k:k+8], 8 accumulators; per row, 2 vectors of x and 4 splats of dz. */
function dw4x2(L: Layer, dW: usize, rows: i32, j: i32, k: i32): void {
  const rowBytes = <usize>L.sOut << 2;
  const xo = <usize>k << 2;
  const tbl = L.rowsTbl;
  let a00 = zero4(), a01 = zero4(), a10 = zero4(), a11 = zero4();
  let a20 = zero4(), a21 = zero4(), a30 = zero4(), a31 = zero4();
  let d = at4(L.dact, j);
  for (let p = tbl, end = at4(tbl, rows); p < end; p += 4, d += rowBytes) {
    const x = load<usize>(p) + xo;
    const x0 = v128.load(x, 0);
    const x1 = v128.load(x, 16);
    let s = v128.load32_splat(d, 0);
    a00 = madd(s, x0, a00);
    a01 = madd(s, x1, a01);
    s = v128.load32_splat(d, 4);
    a10 = madd(s, x0, a10);
    a11 = madd(s, x1, a11);
    s = v128.load32_splat(d, 8);
    a20 = madd(s, x0, a20);
    a21 = madd(s, x1, a21);
    s = v128.load32_splat(d, 12);
    a30 = madd(s, x0, a30);
    a31 = madd(s, x1, a31);
  }
  const nInBytes = <usize>L.nIn << 2;
  const o = dW + <usize>j * nInBytes + xo;
  v128.store(o, a00, 0);
  v128.store(o, a01, 16);
  v128.store(o + nInBytes, a10, 0);
  v128.store(o + nInBytes, a11, 16);
  v128.store(o + 2 * nInBytes, a20, 0);
  v128.store(o + 2 * nInBytes, a21, 16);
  v128.store(o + 3 * nInBytes, a30, 0);
  v128.store(o + 3 * nInBytes, a31, 16);
}

/** dW[j:j+n, k:k+4] for n <= 4 outputs, one at a time (the edges of the tiling). */
function dwNx1(L: Layer, dW: usize, rows: i32, j: i32, n: i32, k: i32): void {
  const rowBytes = <usize>L.sOut << 2;
  const xo = <usize>k << 2;
  for (let jj = j; jj < j + n; jj++) {
    let a = zero4();
    let d = at4(L.dact, jj);
    for (let b = 0; b < rows; b++, d += rowBytes) {
      a = madd(v128.load32_splat(d), v128.load(load<usize>(at4(L.rowsTbl, b)) + xo), a);
    }
    v128.store(dW + ((<usize>jj * <usize>L.nIn) << 2) + xo, a);
  }
}

/** dW[j:j+n, k] one element at a time (the k tail when nIn is not a multiple of 4). */
function dwScalar(L: Layer, dW: usize, rows: i32, j: i32, n: i32, k: i32): void {
  const rowBytes = <usize>L.sOut << 2;
  const xo = <usize>k << 2;
  for (let jj = j; jj < j + n; jj++) {
    let a: f32 = 0;
    let d = at4(L.dact, jj);
    for (let b = 0; b < rows; b++, d += rowBytes) a += load<f32>(d) * load<f32>(load<usize>(at4(L.rowsTbl, b)) + xo);
    store<f32>(dW + ((<usize>jj * <usize>L.nIn) << 2) + xo, a);
  }
}
