// The parts both paths share: parameter staging (padded bias, W transposed), the bias gradient,
// the input gradient through W, and the softmax cross-entropy.

import { Header, Layer } from './layout';
import { exp64, log64 } from './math';
import { at4, keepLanes, maskPositive, storeTransposed, zero4 } from './simd';

/** bias[0:sOut] = b, zero-padded.   b: [nOut] at params + bOff */
export function stageBias(L: Layer, params: usize): void {
  const b = params + L.bOff;
  for (let j = 0; j < L.sOut; j++) store<f32>(at4(L.bias, j), j < L.nOut ? load<f32>(at4(b, j)) : 0);
}

/**
 * wt = W^T, zero-padded to [pad4(nIn), sOut], by 4x4 blocks. Past nOut the block's rows repeat W's
 * last row (valid memory) and those lanes are zeroed; only a k tail (nIn not a multiple of 4) goes
 * element by element.
 *   W: [nOut, nIn] at params + wOff, wt: [pad4(nIn), sOut]
 */
export function transposeW(L: Layer, params: usize): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const sOut = L.sOut;
  const W = params + L.wOff;
  const wRow = <usize>nIn << 2;
  const tRow = <usize>sOut << 2;
  const k4 = nIn & ~3;
  for (let j: i32 = 0; j < sOut; j += 4) {
    const keep = nOut - j; // lanes of this block inside W
    const r0 = W + <usize>j * wRow;
    const r1 = W + <usize>min(j + 1, nOut - 1) * wRow;
    const r2 = W + <usize>min(j + 2, nOut - 1) * wRow;
    const r3 = W + <usize>min(j + 3, nOut - 1) * wRow;
    let dst = L.wt + (<usize>j << 2);
    for (let k: i32 = 0; k < k4; k += 4, dst += 4 * tRow) {
      const o = <usize>k << 2;
      storeTransposedKeep(v128.load(r0 + o), v128.load(r1 + o), v128.load(r2 + o), v128.load(r3 + o), dst, tRow, keep);
    }
    if (k4 < nIn) {
      // the k tail, and zero rows up to pad4(nIn)
      for (let kk = 0; kk < 4; kk++) {
        for (let jj = 0; jj < 4; jj++) {
          const inside = k4 + kk < nIn && jj < keep;
          store<f32>(dst + <usize>kk * tRow + (<usize>jj << 2), inside ? load<f32>(W + <usize>(j + jj) * wRow + (<usize>(k4 + kk) << 2)) : 0);
        }
      }
    }
  }
  L.wtReady = 1;
}

/** storeTransposed with lanes >= keep of every stored vector zeroed. */
// @ts-ignore: decorator
@inline function storeTransposedKeep(r0: v128, r1: v128, r2: v128, r3: v128, dst: usize, stride: usize, keep: i32): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  v128.store(dst, keepLanes(v128.shuffle<f32>(t0, t2, 0, 1, 4, 5), keep));
  v128.store(dst + stride, keepLanes(v128.shuffle<f32>(t0, t2, 2, 3, 6, 7), keep));
  v128.store(dst + 2 * stride, keepLanes(v128.shuffle<f32>(t1, t3, 0, 1, 4, 5), keep));
  v128.store(dst + 3 * stride, keepLanes(v128.shuffle<f32>(t1, t3, 2, 3, 6, 7), keep));
}

/**
 * dW = dwt^T: the sparse path's transposed weight gradient into the gradient block (overwriting
 * it), by 4x4 blocks; a block past nOut stores only its rows inside dW, a k tail goes element by element.
 *   dwt: [nIn, sOut], dW: [nOut, nIn] at grad + wOff
 */
export function untransposeGrad(L: Layer, grad: usize): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const dW = grad + L.wOff;
  const wRow = <usize>nIn << 2;
  const tRow = <usize>L.sOut << 2;
  const k4 = nIn & ~3;
  for (let j: i32 = 0; j < nOut; j += 4) {
    const n = min(4, nOut - j); // rows of dW in this block
    const dst = dW + <usize>j * wRow;
    let src = L.dwt + (<usize>j << 2);
    for (let k: i32 = 0; k < k4; k += 4, src += 4 * tRow) {
      const r0 = v128.load(src);
      const r1 = v128.load(src + tRow);
      const r2 = v128.load(src + 2 * tRow);
      const r3 = v128.load(src + 3 * tRow);
      const o = dst + (<usize>k << 2);
      if (n == 4) {
        storeTransposed(r0, r1, r2, r3, o, wRow);
      } else {
        const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
        const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
        v128.store(o, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
        if (n > 1) v128.store(o + wRow, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
        if (n > 2) v128.store(o + 2 * wRow, v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 0, 1, 4, 5));
      }
    }
    for (let k = k4; k < nIn; k++) {
      for (let jj = 0; jj < n; jj++) store<f32>(dst + <usize>jj * wRow + (<usize>k << 2), load<f32>(L.dwt + <usize>k * tRow + (<usize>(j + jj) << 2)));
    }
  }
}

/** db = sum_b dz[b, :], b ascending, into the gradient block.   dz = dact: [rows, sOut], db: [nOut] at grad + bOff */
export function biasGrad(L: Layer, grad: usize, rows: i32): void {
  const rowBytes = <usize>L.sOut << 2;
  const db = grad + L.bOff;
  for (let j: i32 = 0; j < L.nOut; j += 4) {
    let a = zero4();
    let d = at4(L.dact, j);
    for (let b = 0; b < rows; b++, d += rowBytes) a = f32x4.add(a, v128.load(d));
    if (j + 4 <= L.nOut) {
      v128.store(at4(db, j), a);
    } else {
      // the last partial vector: the next tensor starts right after b
      store<f32>(at4(db, j), f32x4.extract_lane(a, 0));
      if (j + 1 < L.nOut) store<f32>(at4(db, j + 1), f32x4.extract_lane(a, 1));
      if (j + 2 < L.nOut) store<f32>(at4(db, j + 2), f32x4.extract_lane(a, 2));
    }
  }
}

/**
 * The input gradient through W and the previous layer's ReLU:
 *   dprev[b, k] = (prev.act[b, k] > 0) ? sum_j dz[b, j] W[j, k] : 0
 * as dot products of dz rows with wt rows (both zero-padded), one row x 4 inputs per tile.
 * Products and sums are in float64: these sums cancel (softmax - onehot sums to zero, and a narrow
 * layer sums few large terms into a small one), and float32 sums there lost up to 1e-4 of the
 * result where the reference's float64 sums lose 1e-6. It costs little: dz is narrow in the MLPs
 * this trains, and the first layer needs no input gradient.
 *   dz = L.dact: [rows, sOut], wt: [pad4(nIn), sOut], prev.act, prev.dact: [rows, pad4(nIn)]
 */
export function inputGrad(L: Layer, prev: Layer, rows: i32): void {
  const dzRow = <usize>L.sOut << 2;
  const inRow = <usize>prev.sOut << 2;
  for (let b: i32 = 0; b < rows; b++) {
    const d = L.dact + <usize>b * dzRow;
    for (let k: i32 = 0; k < prev.sOut; k += 4) {
      const w0 = L.wt + <usize>k * dzRow;
      const w1 = w0 + dzRow;
      const w2 = w1 + dzRow;
      const w3 = w2 + dzRow;
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
      for (let o: usize = 0; o < dzRow; o += 16) {
        const dv = v128.load(d + o);
        const dLo = f64x2.promote_low_f32x4(dv);
        const dHi = f64x2.promote_low_f32x4(v128.shuffle<f32>(dv, dv, 2, 3, 2, 3));
        a0 = dot4(a0, dLo, dHi, v128.load(w0 + o));
        a1 = dot4(a1, dLo, dHi, v128.load(w1 + o));
        a2 = dot4(a2, dLo, dHi, v128.load(w2 + o));
        a3 = dot4(a3, dLo, dHi, v128.load(w3 + o));
      }
      // [a0, a1, a2, a3] each reduced as lane0 + lane1, rounded to float32 once
      const lo = f32x4.demote_f64x2_zero(f64x2.add(v128.shuffle<f64>(a0, a1, 0, 2), v128.shuffle<f64>(a0, a1, 1, 3)));
      const hi = f32x4.demote_f64x2_zero(f64x2.add(v128.shuffle<f64>(a2, a3, 0, 2), v128.shuffle<f64>(a2, a3, 1, 3)));
      const o0 = <usize>b * inRow + (<usize>k << 2);
      v128.store(prev.dact + o0, maskPositive(v128.shuffle<f32>(lo, hi, 0, 1, 4, 5), v128.load(prev.act + o0)));
    }
  }
}

/** acc + (dLo * w[0:2] + dHi * w[2:4]) in float64: one 4-lane step of a dot product. */
// @ts-ignore: decorator
@inline function dot4(acc: v128, dLo: v128, dHi: v128, w: v128): v128 {
  const lo = f64x2.mul(dLo, f64x2.promote_low_f32x4(w));
  const hi = f64x2.mul(dHi, f64x2.promote_low_f32x4(v128.shuffle<f32>(w, w, 2, 3, 2, 3)));
  return f64x2.add(acc, f64x2.add(lo, hi));
}

/**
 * Cross-entropy through logsumexp, in float64 as the reference computes it, summed over the rows:
 *   loss = sum_b logsumexp(z[b, :]) - z[b, y[b]],   correct = #{b: argmax z[b, :] == y[b]} (ties: lower class)
 *   dz[b, :] = softmax(z[b, :]) - onehot(y[b])      (when dz != 0; pads zeroed)
 *   probs[b, :] = softmax(z[b, :])                   (when probs != 0)
 * with logsumexp(z) = m + log(s), s = sum_c e_c, e_c = exp(z_c - m), m = max_c z_c, softmax = e_c / s.
 *   z = L.act: [rows, sOut], dz: [rows, sOut], probs: [rows, nClasses], H.expTmp: [nClasses] f64;
 *   writes loss and correct into H
 */
export function softmaxCrossEntropy(H: Header, L: Layer, rows: i32, dz: usize, probs: usize): void {
  const n = L.nOut;
  const rowBytes = <usize>L.sOut << 2;
  const e = H.expTmp;
  let loss: f64 = 0;
  let correct: i32 = 0;
  for (let b = 0; b < rows; b++) {
    const z = L.act + <usize>b * rowBytes;
    const y = load<i32>(at4(H.labels, b));
    let m: f64 = -Infinity;
    let best: i32 = 0;
    for (let c = 0; c < n; c++) {
      const v = <f64>load<f32>(at4(z, c));
      if (v > m) m = v;
      if (load<f32>(at4(z, c)) > load<f32>(at4(z, best))) best = c;
    }
    // as the reference's logsumexp: an infinite max is the result (and NaN logits are skipped by the max)
    let lse = m;
    let s: f64 = 0;
    for (let c = 0; c < n; c++) {
      const ec = exp64(<f64>load<f32>(at4(z, c)) - m);
      store<f64>(e + (<usize>c << 3), ec);
      s += ec;
    }
    if (isFinite(m)) lse = m + log64(s);
    loss -= <f64>load<f32>(at4(z, y)) - lse;
    if (best == y) correct++;
    if (dz != 0) {
      const d = dz + <usize>b * rowBytes;
      for (let c = 0; c < L.sOut; c++) {
        const p = c < n ? softmaxAt(e, c, s, m, z) - (c == y ? 1 : 0) : 0;
        store<f32>(at4(d, c), <f32>p);
      }
    }
    if (probs != 0) {
      const p = probs + ((<usize>b * <usize>n) << 2);
      for (let c = 0; c < n; c++) store<f32>(at4(p, c), <f32>softmaxAt(e, c, s, m, z));
    }
  }
  H.loss = loss;
  H.correct = correct;
}

/** e_c / s, or for an infinite max exp(z_c - m) as the reference computes it (NaN, or 1 at an infinite logit). */
// @ts-ignore: decorator
@inline function softmaxAt(e: usize, c: i32, s: f64, m: f64, z: usize): f64 {
  return isFinite(m) ? load<f64>(e + (<usize>c << 3)) / s : exp64(<f64>load<f32>(at4(z, c)) - m);
}
