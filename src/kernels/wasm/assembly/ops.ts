// The parts both paths share: parameter staging (padded bias, W to and from transposed), the bias gradient,
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
 * wt = W^T, zero-padded to [pad4(nIn), sOut], by 4x4 blocks, for the used input groups only (flags
 * from compactRows: the sparse forward reads no other row of wt; flags = 0: every group). Past nOut
 * the block's rows repeat W's last row (valid memory) and those lanes are zeroed; only a k tail (nIn
 * not a multiple of 4) goes element by element. Also turns the dense path's dW into the stored dWᵀ.
 *   W: [nOut, nIn], wt: [pad4(nIn), sOut], flags: [ceil(nIn / 4)] i32 or 0
 */
export function toTransposed(L: Layer, W: usize, wt: usize, flags: usize): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const sOut = L.sOut;
  const wRow = <usize>nIn << 2;
  const tRow = <usize>sOut << 2;
  const k4 = nIn & ~3;
  // k outer: each used group's 4 rows of wt (contiguous) are written whole, while W's rows are read
  // 16 bytes at a time (a W line serves 4 consecutive groups, so W stays in L1 meanwhile)
  const j4 = nOut & ~3;
  for (let k: i32 = 0; k < k4; k += 4) {
    if (flags != 0 && !load<i32>(flags + <usize>k)) continue; // no row of the chunk uses these inputs
    const src = W + (<usize>k << 2);
    const dst = wt + <usize>k * tRow;
    let j: i32 = 0;
    for (; j < j4; j += 4) {
      const r = src + <usize>j * wRow;
      storeTransposed(v128.load(r), v128.load(r + wRow), v128.load(r + 2 * wRow), v128.load(r + 3 * wRow), dst + (<usize>j << 2), tRow);
    }
    for (; j < sOut; j += 4) {
      // past nOut: rows repeat W's last row (valid memory), their lanes zeroed
      const r0 = src + <usize>min(j, nOut - 1) * wRow;
      const r1 = src + <usize>min(j + 1, nOut - 1) * wRow;
      const r2 = src + <usize>min(j + 2, nOut - 1) * wRow;
      const r3 = src + <usize>min(j + 3, nOut - 1) * wRow;
      storeTransposedKeep(v128.load(r0), v128.load(r1), v128.load(r2), v128.load(r3), dst + (<usize>j << 2), tRow, nOut - j);
    }
  }
  if (k4 < nIn) {
    // the k tail, and zero rows up to pad4(nIn)
    const dst = wt + <usize>k4 * tRow;
    for (let kk = 0; kk < 4; kk++) {
      for (let j: i32 = 0; j < sOut; j++) {
        const inside = k4 + kk < nIn && j < nOut;
        store<f32>(dst + <usize>kk * tRow + (<usize>j << 2), inside ? load<f32>(W + <usize>j * wRow + (<usize>(k4 + kk) << 2)) : 0);
      }
    }
  }
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
 * W = wt^T, by 4x4 blocks: the sparse path's transposed weight gradient into the gradient block
 * (overwriting it), or the stored Wᵀ into W [nOut, nIn] for the dense path. A block past nOut stores
 * only its rows inside W, a k tail goes element by element. Inputs of unused groups (flags; 0:
 * every group is used) get zeros without reading wt.
 *   wt: [nIn, sOut], W: [nOut, nIn], flags: [ceil(nIn / 4)] i32 or 0
 */
export function fromTransposed(L: Layer, wt: usize, W: usize, flags: usize): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const wRow = <usize>nIn << 2;
  const tRow = <usize>L.sOut << 2;
  const k4 = nIn & ~3;
  const j4 = nOut & ~3;
  const z = zero4();
  // k outer: a used group's 4 rows of wt (contiguous) are read whole, W written 16 bytes a row
  for (let k: i32 = 0; k < k4; k += 4) {
    const dst = W + (<usize>k << 2);
    if (flags != 0 && !load<i32>(flags + <usize>k)) {
      // no row of the chunk uses these inputs: their gradient is zero (wt was not written there)
      for (let j: i32 = 0; j < nOut; j++) v128.store(dst + <usize>j * wRow, z);
      continue;
    }
    const src = wt + <usize>k * tRow;
    let j: i32 = 0;
    for (; j < j4; j += 4) {
      const s = src + (<usize>j << 2);
      storeTransposed(v128.load(s), v128.load(s + tRow), v128.load(s + 2 * tRow), v128.load(s + 3 * tRow), dst + <usize>j * wRow, wRow);
    }
    if (j < nOut) {
      // the last 1..3 rows of W
      const s = src + (<usize>j << 2);
      const r0 = v128.load(s);
      const r1 = v128.load(s + tRow);
      const r2 = v128.load(s + 2 * tRow);
      const r3 = v128.load(s + 3 * tRow);
      const o = dst + <usize>j * wRow;
      const n = nOut - j;
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      v128.store(o, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      if (n > 1) v128.store(o + wRow, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      if (n > 2) v128.store(o + 2 * wRow, v128.shuffle<f32>(v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), v128.shuffle<f32>(r2, r3, 2, 6, 3, 7), 0, 1, 4, 5));
    }
  }
  if (k4 < nIn) {
    const tailUsed = flags == 0 || load<i32>(flags + <usize>k4) != 0;
    for (let j: i32 = 0; j < nOut; j++) {
      for (let k = k4; k < nIn; k++) store<f32>(W + <usize>j * wRow + (<usize>k << 2), tailUsed ? load<f32>(wt + <usize>k * tRow + (<usize>j << 2)) : 0);
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
 *   dprev[b, k] = (prev.act[b, k] > 0) ? sum_j dz[b, j] W[j, k] : 0      (j ascending, from +0)
 * with the outputs k in the vector lanes (8 or 4 per tile), W as stored. Products and sums are in
 * float64 (W staged once per call into wd): these sums cancel (softmax - onehot sums to zero, and a
 * narrow layer sums few large terms into a small one), and float32 sums there lost up to 1e-4 of the
 * result where the reference's float64 sums lose 1e-6. The first layer needs no input gradient.
 *   dz = L.dact: [rows, sOut], W: [nOut, nIn] at params + wOff, wd = L.wt: [nOut, pad4(nIn)] f64 (wt is free by then),
 *   prev.act, prev.dact: [rows, pad4(nIn)]
 */
export function inputGrad(L: Layer, params: usize, prev: Layer, rows: i32): void {
  const nIn = L.nIn;
  const nOut = L.nOut;
  const sIn = prev.sOut;
  const W = params + L.wOff;
  const wdRow = <usize>sIn << 3;
  const k4 = nIn & ~3;
  for (let j: i32 = 0; j < nOut; j++) {
    const src = W + ((<usize>j * <usize>nIn) << 2);
    const dst = L.wt + <usize>j * wdRow;
    let k: i32 = 0;
    for (; k < k4; k += 4) {
      const v = v128.load(at4(src, k));
      v128.store(dst + (<usize>k << 3), f64x2.promote_low_f32x4(v));
      v128.store(dst + (<usize>k << 3), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3)), 16);
    }
    for (; k < sIn; k++) store<f64>(dst + (<usize>k << 3), k < nIn ? <f64>load<f32>(at4(src, k)) : 0);
  }
  const dzRow = <usize>L.sOut << 2;
  const inRow = <usize>sIn << 2;
  for (let b: i32 = 0; b < rows; b++) {
    const d = L.dact + <usize>b * dzRow;
    const out = <usize>b * inRow;
    let k: i32 = 0;
    for (; k + 8 <= sIn; k += 8) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
      let w = L.wt + (<usize>k << 3);
      for (let j: i32 = 0; j < nOut; j++, w += wdRow) {
        const s = f64x2.splat(<f64>load<f32>(at4(d, j)));
        a0 = f64x2.add(a0, f64x2.mul(s, v128.load(w, 0)));
        a1 = f64x2.add(a1, f64x2.mul(s, v128.load(w, 16)));
        a2 = f64x2.add(a2, f64x2.mul(s, v128.load(w, 32)));
        a3 = f64x2.add(a3, f64x2.mul(s, v128.load(w, 48)));
      }
      const o = out + (<usize>k << 2);
      v128.store(prev.dact + o, maskPositive(join2(a0, a1), v128.load(prev.act + o)));
      v128.store(prev.dact + o, maskPositive(join2(a2, a3), v128.load(prev.act + o, 16)), 16);
    }
    if (k < sIn) {
      let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
      let w = L.wt + (<usize>k << 3);
      for (let j: i32 = 0; j < nOut; j++, w += wdRow) {
        const s = f64x2.splat(<f64>load<f32>(at4(d, j)));
        a0 = f64x2.add(a0, f64x2.mul(s, v128.load(w, 0)));
        a1 = f64x2.add(a1, f64x2.mul(s, v128.load(w, 16)));
      }
      const o = out + (<usize>k << 2);
      v128.store(prev.dact + o, maskPositive(join2(a0, a1), v128.load(prev.act + o)));
    }
  }
}

/** [lo0, lo1, hi0, hi1] rounded to float32. */
// @ts-ignore: decorator
@inline function join2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
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
