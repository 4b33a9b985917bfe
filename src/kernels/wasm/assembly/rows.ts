// The rows pass, one batch row at a time: the forward pass, the loss and the hand-derived backward
// pass down to each layer's output gradient. Nothing in a row's arithmetic depends on another row,
// so a row's bytes are the same whichever rows share its call.
//
//   layer 0   z = b + sum over the row's non-zero inputs (k, v) of v * Wᵀ[k, :]    (k ascending)
//   layer l   z[j] = b[j] + sum_k W[j, k] in[k]                                   (4-lane dot products)
//   loss      logsumexp(z) - z[y], dz = softmax(z) - onehot(y)                    (float64)
//   backward  dprev[k] = (in[k] > 0) ? sum_j dz[j] W[j, k] : 0                     (float64, j ascending)
//
// Output rows are held in registers in blocks of up to 8 vectors (as few blocks as the width allows,
// of balanced widths: 52 floats = 13 vectors = 6 + 7), so each pass over a list has several
// independent add chains. AssemblyScript inlines a function with a constant argument and folds its
// `if (n > 1)` tests away only when the constant is spelled out at the call, hence the `switch` arms
// that each pass the block width as a literal.

import { Header, Layer, layerAt } from './layout';
import { exp64, log64 } from './math';
import { at4, hsum4, madd, maskPositive, relu4, rowOf, zero4 } from './simd';

/**
 * Whether index[t0 .. t1) is a row's non-zero list for a row of nIn inputs: no longer than the row,
 * strictly ascending, and inside [0, nIn).
 */
export function listFits(index: usize, t0: i32, t1: i32, nIn: i32): bool {
  if (t1 < t0 || t1 - t0 > nIn) return false;
  if (t0 == t1) return true;
  if (<u32>load<i32>(at4(index, t0)) >= <u32>nIn || <u32>load<i32>(at4(index, t1 - 1)) >= <u32>nIn) return false;
  let t = t0;
  for (; t + 4 < t1; t += 4) {
    if (v128.any_true(i32x4.ge_s(v128.load(at4(index, t)), v128.load(at4(index, t + 1))))) return false;
  }
  for (; t + 1 < t1; t++) if (load<i32>(at4(index, t)) >= load<i32>(at4(index, t + 1))) return false;
  return true;
}

/** At most this many first-layer slices, the cuts are found by searching the list for each bound; beyond, by one pass over it. */
const SEARCHED_SLICES = 8;

/**
 * Where row r's list index[t0 .. t1) reaches each first-layer slice: cut s = the first t whose input
 * is in slice s or later (cut 0 = t0, the last = t1), so that slice s reads index[cut s .. cut s + 1).
 * Both ways below find the same cuts.   listCuts row r: [cutStride]
 */
export function cutList(H: Header, r: i32, t0: i32, t1: i32): void {
  const cuts = rowOf(H.listCuts, r, H.cutStride);
  if (H.cutStride - 1 <= SEARCHED_SLICES) searchCuts(H, cuts, t0, t1);
  else scatterCuts(H, cuts, t0, t1);
}

/** Each bound's cut by walking on from the previous one: cheap for a few bounds (the walk's end mispredicts about once a bound). */
function searchCuts(H: Header, cuts: usize, t0: i32, t1: i32): void {
  const last = H.cutStride - 1;
  const index = H.nzIndex;
  store<i32>(cuts, t0);
  let t = t0;
  for (let s = 1; s < last; s++) {
    const bound = load<i32>(at4(H.bounds, s));
    while (t + 4 <= t1 && load<i32>(at4(index, t + 3)) < bound) t += 4; // ascending: four below at once
    while (t < t1 && load<i32>(at4(index, t)) < bound) t++;
    store<i32>(at4(cuts, s), t);
  }
  store<i32>(at4(cuts, last), t1);
}

/**
 * The cuts in one pass over the list, without a branch that depends on the data: every cut starts at
 * t1, each entry from the last to the first writes its t into its slice's cut (sliceOf: [nIn], each
 * input's slice; a slice's first entry writes last), then a backward pass takes each cut down to the
 * next one's where a slice has no entry.
 */
function scatterCuts(H: Header, cuts: usize, t0: i32, t1: i32): void {
  const S = H.cutStride - 1;
  const fill = i32x4.splat(t1);
  let s: i32 = 0;
  for (; s + 4 <= S + 1; s += 4) v128.store(at4(cuts, s), fill);
  for (; s <= S; s++) store<i32>(at4(cuts, s), t1);
  for (let t = t1 - 1; t >= t0; t--) store<i32>(at4(cuts, load<i32>(at4(H.sliceOf, load<i32>(at4(H.nzIndex, t))))), t);
  let next = t1;
  for (s = S - 1; s >= 0; s--) {
    const c = min(load<i32>(at4(cuts, s)), next);
    store<i32>(at4(cuts, s), c);
    next = c;
  }
}

/**
 * Lists the non-zeros of one input row of nIn values: idx[c] = k, val[c] = x[k], k ascending; returns
 * their count. "Non-zero" means any bit set, so -0 and NaN are kept (they change the sum as a dense
 * product would); only +0 is left out, as data/non-zero-index.ts lists them.
 */
export function listRow(x: usize, nIn: i32, idx: usize, val: usize): i32 {
  let c: i32 = 0;
  let k: i32 = 0;
  for (; k + 4 <= nIn; k += 4) {
    const v = v128.load(at4(x, k));
    if (!v128.any_true(v)) continue; // most 4-pixel groups of an MNIST border are all zero
    c = push(idx, val, c, k, i32x4.extract_lane(v, 0));
    c = push(idx, val, c, k + 1, i32x4.extract_lane(v, 1));
    c = push(idx, val, c, k + 2, i32x4.extract_lane(v, 2));
    c = push(idx, val, c, k + 3, i32x4.extract_lane(v, 3));
  }
  for (; k < nIn; k++) c = push(idx, val, c, k, load<i32>(at4(x, k)));
  return c;
}

/** Writes entry c unconditionally and keeps it only if its bits are non-zero: no branch to mispredict. */
// @ts-ignore: decorator
@inline function push(idx: usize, val: usize, c: i32, k: i32, bits: i32): i32 {
  store<i32>(at4(idx, c), k);
  store<i32>(at4(val, c), bits);
  return c + <i32>(bits != 0);
}

/**
 * The first layer on one row's non-zero list: out = b + sum_t val[t] * Wᵀ[idx[t], :] (t ascending),
 * then the ReLU if `relu`.   Wᵀ: [sIn, sOut], b, out: [sOut], idx (k), val: [count]
 */
export function listForward(L: Layer, params: usize, idx: usize, val: usize, count: i32, out: usize, relu: bool): void {
  const rowBytes = <usize>L.sOut << 2;
  const wt = params + L.w;
  const bias = params + L.b;
  const end = at4(idx, count);
  const nv = L.sOut >> 2;
  const passes = (nv + 7) >> 3;
  let v0: i32 = 0;
  for (let p = 1; p <= passes; p++) {
    const v1 = (nv * p) / passes;
    const o = <usize>v0 << 4;
    switch (v1 - v0) {
      case 8: fwdBlock(8, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 7: fwdBlock(7, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 6: fwdBlock(6, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 5: fwdBlock(5, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 4: fwdBlock(4, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 3: fwdBlock(3, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 2: fwdBlock(2, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
      case 1: fwdBlock(1, wt + o, rowBytes, idx, val, end, bias + o, out + o, relu); break;
    }
    v0 = v1;
  }
}

/** n (1..8) vectors of the output row: out[0:4n] = bias[0:4n] + sum_t val[t] * wt[idx[t], 0:4n] */
// @ts-ignore: decorator
@inline function fwdBlock(n: i32, wt: usize, rowBytes: usize, idx: usize, val: usize, end: usize, bias: usize, out: usize, relu: bool): void {
  let a0 = v128.load(bias, 0);
  let a1 = n > 1 ? v128.load(bias, 16) : a0;
  let a2 = n > 2 ? v128.load(bias, 32) : a0;
  let a3 = n > 3 ? v128.load(bias, 48) : a0;
  let a4 = n > 4 ? v128.load(bias, 64) : a0;
  let a5 = n > 5 ? v128.load(bias, 80) : a0;
  let a6 = n > 6 ? v128.load(bias, 96) : a0;
  let a7 = n > 7 ? v128.load(bias, 112) : a0;
  for (; idx < end; idx += 4, val += 4) {
    const v = v128.load32_splat(val);
    const w = wt + <usize>load<u32>(idx) * rowBytes;
    a0 = madd(v, v128.load(w, 0), a0);
    if (n > 1) a1 = madd(v, v128.load(w, 16), a1);
    if (n > 2) a2 = madd(v, v128.load(w, 32), a2);
    if (n > 3) a3 = madd(v, v128.load(w, 48), a3);
    if (n > 4) a4 = madd(v, v128.load(w, 64), a4);
    if (n > 5) a5 = madd(v, v128.load(w, 80), a5);
    if (n > 6) a6 = madd(v, v128.load(w, 96), a6);
    if (n > 7) a7 = madd(v, v128.load(w, 112), a7);
  }
  if (relu) {
    a0 = relu4(a0);
    if (n > 1) a1 = relu4(a1);
    if (n > 2) a2 = relu4(a2);
    if (n > 3) a3 = relu4(a3);
    if (n > 4) a4 = relu4(a4);
    if (n > 5) a5 = relu4(a5);
    if (n > 6) a6 = relu4(a6);
    if (n > 7) a7 = relu4(a7);
  }
  v128.store(out, a0, 0);
  if (n > 1) v128.store(out, a1, 16);
  if (n > 2) v128.store(out, a2, 32);
  if (n > 3) v128.store(out, a3, 48);
  if (n > 4) v128.store(out, a4, 64);
  if (n > 5) v128.store(out, a5, 80);
  if (n > 6) v128.store(out, a6, 96);
  if (n > 7) v128.store(out, a7, 112);
}

/**
 * A later layer on one row: out[j] = b[j] + sum_k W[j, k] in[k] for j < sOut, four outputs at a
 * time, each a dot product along k in 4 lanes reduced by hsum4; then the ReLU if `relu`. Padding rows
 * of W and b are zero, so out's padding is zero.   W: [sOut, sIn], in: [sIn], b, out: [sOut]
 */
export function denseForward(L: Layer, params: usize, inp: usize, out: usize, relu: bool): void {
  const wRow = <usize>L.sIn << 2;
  const W = params + L.w;
  const bias = params + L.b;
  for (let j: i32 = 0; j < L.sOut; j += 4) {
    const w0 = W + <usize>j * wRow;
    const w1 = w0 + wRow;
    const w2 = w1 + wRow;
    const w3 = w2 + wRow;
    let a0 = zero4(), a1 = zero4(), a2 = zero4(), a3 = zero4();
    for (let o: usize = 0; o < wRow; o += 16) {
      const x = v128.load(inp + o);
      a0 = madd(x, v128.load(w0 + o), a0);
      a1 = madd(x, v128.load(w1 + o), a1);
      a2 = madd(x, v128.load(w2 + o), a2);
      a3 = madd(x, v128.load(w3 + o), a3);
    }
    const z = f32x4.add(hsum4(a0, a1, a2, a3), v128.load(at4(bias, j)));
    v128.store(at4(out, j), relu ? relu4(z) : z);
  }
}

/**
 * One row's cross-entropy through logsumexp, in float64 as the reference computes it. Returns
 *   loss = logsumexp(z) - z[y]            and sets H.predicted = argmax z (ties: the lower class)
 *   dz = softmax(z) - onehot(y)           when dz != 0 (its padding lanes zeroed)
 *   probs = softmax(z)                    when probs != 0
 * with logsumexp(z) = m + log(s), s = sum_c e_c, e_c = exp(z_c - m), m = max_c z_c, softmax = e_c / s.
 *   z: [sOut] f32 (the first nClasses used), dz: [sOut], probs: [nClasses], H.expTmp: [nClasses] f64
 */
export function crossEntropy(H: Header, z: usize, y: i32, sOut: i32, dz: usize, probs: usize): f64 {
  const n = H.nClasses;
  const e = H.expTmp;
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
  H.predicted = best;
  if (dz != 0) {
    for (let c = 0; c < sOut; c++) {
      const p = c < n ? softmaxAt(e, c, s, m, z) - (c == y ? 1 : 0) : 0;
      store<f32>(at4(dz, c), <f32>p);
    }
  }
  if (probs != 0) {
    for (let c = 0; c < n; c++) store<f32>(at4(probs, c), <f32>softmaxAt(e, c, s, m, z));
  }
  return lse - <f64>load<f32>(at4(z, y));
}

/** e_c / s, or for an infinite max exp(z_c - m) as the reference computes it (NaN, or 1 at an infinite logit). */
// @ts-ignore: decorator
@inline function softmaxAt(e: usize, c: i32, s: f64, m: f64, z: usize): f64 {
  return isFinite(m) ? load<f64>(e + (<usize>c << 3)) / s : exp64(<f64>load<f32>(at4(z, c)) - m);
}

/**
 * One row's input gradient through a later layer's W and the ReLU before it:
 *   dprev[k] = (in[k] > 0) ? sum_j dz[j] W[j, k] : 0          (j ascending from +0)
 * with 8 (then 4) inputs k in the lanes, W promoted to float64 as it is read. Products and sums are
 * in float64: these sums cancel (softmax - onehot sums to zero, and a narrow layer sums few large
 * terms into a small one), and float32 sums there lost up to 1e-4 of the result where the
 * reference's float64 sums lose 1e-6.   W: [sOut, sIn], dz: [sOut], in, dprev: [sIn]
 */
export function inputGrad(L: Layer, params: usize, dz: usize, inp: usize, dprev: usize): void {
  const sIn = L.sIn;
  const nOut = L.nOut;
  const wRow = <usize>sIn << 2;
  const W = params + L.w;
  let k: i32 = 0;
  for (; k + 8 <= sIn; k += 8) {
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
    let w = at4(W, k);
    for (let j: i32 = 0; j < nOut; j++, w += wRow) {
      const s = f64x2.splat(<f64>load<f32>(at4(dz, j)));
      const v0 = v128.load(w, 0);
      const v1 = v128.load(w, 16);
      a0 = f64x2.add(a0, f64x2.mul(s, f64x2.promote_low_f32x4(v0)));
      a1 = f64x2.add(a1, f64x2.mul(s, f64x2.promote_low_f32x4(v128.shuffle<f32>(v0, v0, 2, 3, 2, 3))));
      a2 = f64x2.add(a2, f64x2.mul(s, f64x2.promote_low_f32x4(v1)));
      a3 = f64x2.add(a3, f64x2.mul(s, f64x2.promote_low_f32x4(v128.shuffle<f32>(v1, v1, 2, 3, 2, 3))));
    }
    const o = <usize>k << 2;
    v128.store(dprev + o, maskPositive(join2(a0, a1), v128.load(inp + o)));
    v128.store(dprev + o, maskPositive(join2(a2, a3), v128.load(inp + o, 16)), 16);
  }
  if (k < sIn) {
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
    let w = at4(W, k);
    for (let j: i32 = 0; j < nOut; j++, w += wRow) {
      const s = f64x2.splat(<f64>load<f32>(at4(dz, j)));
      const v0 = v128.load(w);
      a0 = f64x2.add(a0, f64x2.mul(s, f64x2.promote_low_f32x4(v0)));
      a1 = f64x2.add(a1, f64x2.mul(s, f64x2.promote_low_f32x4(v128.shuffle<f32>(v0, v0, 2, 3, 2, 3))));
    }
    const o = <usize>k << 2;
    v128.store(dprev + o, maskPositive(join2(a0, a1), v128.load(inp + o)));
  }
}

/** [lo0, lo1, hi0, hi1] rounded to float32. */
// @ts-ignore: decorator
@inline function join2(lo: v128, hi: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5);
}

/**
 * Row r's whole per-sample gradient norm, from its factors, in float64: a linear layer's gradient
 * for one row is dW = dout ⊗ in and db = dout, so
 *   ||g_r||^2 = sum over layers l of ||dout_l||^2 (||in_l||^2 + 1)
 * without forming any of it. Layer 0's input is the row's non-zero values.   val: [count]
 */
export function rowNorm(H: Header, r: i32, val: usize, count: i32): f64 {
  let total: f64 = 0;
  for (let l = 0; l < H.nLayers; l++) {
    const L = layerAt(H, l);
    const in2 = l == 0 ? sumSquares(val, count) : sumSquares(rowOf(L.inputs, r, L.sIn), L.sIn);
    total += sumSquares(rowOf(L.douts, r, L.sOut), L.sOut) * (in2 + 1);
  }
  return Math.sqrt(total);
}

/** sum of x[i]^2 over n floats, in float64, in a fixed order (two lanes of pairs, then the tail). */
function sumSquares(x: usize, n: i32): f64 {
  let a = f64x2.splat(0);
  let b = f64x2.splat(0);
  let i: i32 = 0;
  for (; i + 4 <= n; i += 4) {
    const v = v128.load(at4(x, i));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 2, 3));
    a = f64x2.add(a, f64x2.mul(lo, lo));
    b = f64x2.add(b, f64x2.mul(hi, hi));
  }
  let s = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1) + (f64x2.extract_lane(b, 0) + f64x2.extract_lane(b, 1));
  for (; i < n; i++) {
    const v = <f64>load<f32>(at4(x, i));
    s += v * v;
  }
  return s;
}

/** Scales row r's output gradient in every layer by c (< 1: the row's clipping factor), so its whole per-sample gradient. */
export function clipRow(H: Header, r: i32, c: f32): void {
  if (c >= 1) return;
  const c4 = f32x4.splat(c);
  for (let l = 0; l < H.nLayers; l++) {
    const L = layerAt(H, l);
    const d = rowOf(L.douts, r, L.sOut);
    for (let o: usize = 0; o < (<usize>L.sOut << 2); o += 16) v128.store(d + o, f32x4.mul(v128.load(d + o), c4));
  }
}
