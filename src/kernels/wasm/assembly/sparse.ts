// The sparse path: MNIST pixels are ~81% zero and a hidden ReLU's outputs about half, so a layer
// walks only the non-zero inputs. Both products then take W transposed (wt [nIn, sOut]) or produce
// dW transposed (dwt [nIn, sOut]), so that each non-zero x[b, k] meets a contiguous row (the first
// layer's Wᵀ and dWᵀ are where the parameter block and the gradient slot hold them; a later layer's
// are transposed to and from scratch):
//   forward  z[b, :]    = b + sum_{k: x[b,k] != 0} x[b, k] * wt[k, :]
//   backward dwt[k, :]  = sum_{b: x[b,k] != 0} x[b, k] * dz[b, :]
// Both work on column blocks of up to 8 vectors held in registers (the forward's output row, the
// backward's dz row), as few blocks as the width allows and of balanced widths (sOut 52 = 13
// vectors: 6 + 7), so each pass over a row's non-zeros has several independent add chains. Every
// sum runs in a fixed order (k ascending in the forward, b ascending in the backward).

import { Layer } from './layout';
import { at4, madd, relu4, zero4 } from './simd';

/**
 * Lists the non-zeros of each input row: for t in [nzStart[b], nzStart[b+1]), nzVal[t] = x[b, k]
 * and nzIdx[t] = k * sOut * 4 (the byte offset of row k of wt and dwt), k ascending. "Non-zero"
 * means any bit set, so -0 and NaN are kept (they change the sum as in the dense product); only +0
 * is skipped. Also flags[g] := whether any row has a non-zero in inputs [4g, 4g+4) (a "used group"):
 * only those rows of wt are read and only those of dwt written. Returns the number of non-zeros.
 *   input rows: [rows, nIn] through rowsTbl, flags: [ceil(nIn / 4)] i32
 */
export function compactRows(L: Layer, rows: i32, flags: usize): i32 {
  const nIn = L.nIn;
  const idx = L.nzIdx;
  const val = L.nzVal;
  const rowBytes = L.sOut << 2;
  memory.fill(flags, 0, <usize>((nIn + 3) >> 2) << 2);
  let c: i32 = 0;
  store<i32>(L.nzStart, 0);
  for (let b = 0; b < rows; b++) {
    const row = load<usize>(at4(L.rowsTbl, b));
    let k: i32 = 0;
    for (; k + 4 <= nIn; k += 4) {
      const v = v128.load(at4(row, k));
      if (!v128.any_true(v)) continue; // most 4-pixel groups of an MNIST border are all zero
      store<i32>(flags + <usize>k, 1); // group k / 4 is used
      const off = k * rowBytes;
      c = push(idx, val, c, off, i32x4.extract_lane(v, 0));
      c = push(idx, val, c, off + rowBytes, i32x4.extract_lane(v, 1));
      c = push(idx, val, c, off + 2 * rowBytes, i32x4.extract_lane(v, 2));
      c = push(idx, val, c, off + 3 * rowBytes, i32x4.extract_lane(v, 3));
    }
    if (k < nIn) {
      const c0 = c;
      for (; k < nIn; k++) c = push(idx, val, c, k * rowBytes, load<i32>(at4(row, k)));
      if (c != c0) store<i32>(flags + <usize>(nIn & ~3), 1);
    }
    store<i32>(at4(L.nzStart, b + 1), c);
  }
  return c;
}

/**
 * compactRows' lists, flags and count, copied from the input's own non-zero lists (Split.nonZero)
 * instead of scanning its rows: row b is sample i = ids[b], whose non-zeros are (index[t], value[t])
 * for t in [start[i], start[i+1]), k ascending, so the rows themselves are not read. Returns -1 when
 * a list does not fit (longer than a row, or an input outside it): nothing is then to be computed.
 *   ids: [rows] i32, start: [n + 1] i32, index: [nnz] i32, value: [nnz] f32
 */
export function copyRows(L: Layer, rows: i32, flags: usize, ids: usize, start: usize, index: usize, value: usize): i32 {
  const nIn = L.nIn;
  const rowBytes = L.sOut << 2;
  const scale = i32x4.splat(rowBytes);
  const limit = i32x4.splat(nIn);
  memory.fill(flags, 0, <usize>((nIn + 3) >> 2) << 2);
  let c: i32 = 0;
  store<i32>(L.nzStart, 0);
  for (let b = 0; b < rows; b++) {
    const i = load<i32>(at4(ids, b));
    const t0 = load<i32>(at4(start, i));
    const t1 = load<i32>(at4(start, i + 1));
    if (<u32>(t1 - t0) > <u32>nIn) return -1;
    let p = at4(index, t0);
    let q = at4(value, t0);
    const end = at4(index, t1);
    let idx = at4(L.nzIdx, c);
    let val = at4(L.nzVal, c);
    for (; p + 16 <= end; p += 16, q += 16, idx += 16, val += 16) {
      const k = v128.load(p);
      const k0 = i32x4.extract_lane(k, 0);
      const k1 = i32x4.extract_lane(k, 1);
      const k2 = i32x4.extract_lane(k, 2);
      const k3 = i32x4.extract_lane(k, 3);
      if (v128.any_true(i32x4.ge_u(k, limit))) return -1;
      v128.store(idx, i32x4.mul(k, scale));
      v128.store(val, v128.load(q));
      store<i32>(flags + <usize>(k0 & ~3), 1); // group k / 4 is used
      store<i32>(flags + <usize>(k1 & ~3), 1);
      store<i32>(flags + <usize>(k2 & ~3), 1);
      store<i32>(flags + <usize>(k3 & ~3), 1);
    }
    for (; p < end; p += 4, q += 4, idx += 4, val += 4) {
      const k = load<i32>(p);
      if (<u32>k >= <u32>nIn) return -1;
      store<i32>(idx, k * rowBytes);
      store<i32>(val, load<i32>(q));
      store<i32>(flags + <usize>(k & ~3), 1);
    }
    c += t1 - t0;
    store<i32>(at4(L.nzStart, b + 1), c);
  }
  return c;
}

/** Writes entry c unconditionally and keeps it only if its bits are non-zero: no branch to mispredict. */
// @ts-ignore: decorator
@inline function push(idx: usize, val: usize, c: i32, off: i32, bits: i32): i32 {
  store<i32>(at4(idx, c), off);
  store<i32>(at4(val, c), bits);
  return c + <i32>(bits != 0);
}

/**
 * act[b, :] = bias + sum over row b's non-zeros (k, v) of v * wt[k, :], then the ReLU if `relu`.
 *   wt: [nIn, sOut] (the stored Wᵀ, or W transposed into scratch), bias: [sOut], act: [rows, sOut]
 */
export function sparseForward(L: Layer, wt: usize, rows: i32, relu: bool): void {
  const rowBytes = <usize>L.sOut << 2;
  const nv = L.sOut >> 2;
  const passes = (nv + 7) >> 3;
  for (let b = 0; b < rows; b++) {
    const t0 = load<i32>(at4(L.nzStart, b));
    const t1 = load<i32>(at4(L.nzStart, b + 1));
    const idx = at4(L.nzIdx, t0);
    const val = at4(L.nzVal, t0);
    const end = at4(L.nzIdx, t1);
    const out = L.act + <usize>b * rowBytes;
    let v0: i32 = 0;
    for (let p = 1; p <= passes; p++) {
      const v1 = (nv * p) / passes;
      const o = <usize>v0 << 4;
      switch (v1 - v0) {
      case 8: fwdBlock(8, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 7: fwdBlock(7, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 6: fwdBlock(6, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 5: fwdBlock(5, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 4: fwdBlock(4, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 3: fwdBlock(3, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 2: fwdBlock(2, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      case 1: fwdBlock(1, wt + o, idx, val, end, L.bias + o, out + o, relu); break;
      }
      v0 = v1;
    }
  }
}

/**
 * n (a constant after inlining, 1..8) vectors of one output row:
 *   out[0:4n] = bias[0:4n] + sum_t val[t] * wt[idx[t], 0:4n]
 */
// @ts-ignore: decorator
@inline function fwdBlock(n: i32, wt: usize, idx: usize, val: usize, end: usize, bias: usize, out: usize, relu: bool): void {
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
    const w = wt + <usize>load<u32>(idx);
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
 * dwt[k, :] = sum_b x[b, k] * dz[b, :] over the rows whose x[b, k] is non-zero, b ascending: for
 * each row, its dz block stays in registers while its non-zeros add into their dwt rows.
 *   input non-zeros and flags: from compactRows, dz = dact: [rows, sOut], dwt: [pad4(nIn), sOut].
 *   `whole`: dwt is the gradient slot's stored dWᵀ, every row written (unused groups' rows zeroed);
 *   else dwt is scratch, only the rows of used groups are written and fromTransposed reads no other.
 */
export function sparseWeightGrad(L: Layer, dwt: usize, rows: i32, flags: usize, whole: bool): void {
  const rowBytes = <usize>L.sOut << 2;
  const nv = L.sOut >> 2;
  const passes = (nv + 7) >> 3;
  const nIn = L.nIn;
  if (whole) {
    memory.fill(dwt, 0, <usize>((nIn + 3) & ~3) * rowBytes);
  } else {
    // zero the dwt rows of the used groups (the others are neither written nor read)
    const z = zero4();
    for (let k: i32 = 0; k < nIn; k += 4) {
      if (!load<i32>(flags + <usize>k)) continue;
      const n = min(4, nIn - k);
      const end = dwt + <usize>(k + n) * rowBytes;
      for (let p = dwt + <usize>k * rowBytes; p < end; p += 16) v128.store(p, z);
    }
  }
  for (let b = 0; b < rows; b++) {
    const t0 = load<i32>(at4(L.nzStart, b));
    const t1 = load<i32>(at4(L.nzStart, b + 1));
    const idx = at4(L.nzIdx, t0);
    const val = at4(L.nzVal, t0);
    const end = at4(L.nzIdx, t1);
    const dz = L.dact + <usize>b * rowBytes;
    let v0: i32 = 0;
    for (let p = 1; p <= passes; p++) {
      const v1 = (nv * p) / passes;
      const o = <usize>v0 << 4;
      switch (v1 - v0) {
      case 8: accBlock(8, dwt + o, idx, val, end, dz + o); break;
      case 7: accBlock(7, dwt + o, idx, val, end, dz + o); break;
      case 6: accBlock(6, dwt + o, idx, val, end, dz + o); break;
      case 5: accBlock(5, dwt + o, idx, val, end, dz + o); break;
      case 4: accBlock(4, dwt + o, idx, val, end, dz + o); break;
      case 3: accBlock(3, dwt + o, idx, val, end, dz + o); break;
      case 2: accBlock(2, dwt + o, idx, val, end, dz + o); break;
      case 1: accBlock(1, dwt + o, idx, val, end, dz + o); break;
      }
      v0 = v1;
    }
  }
}

/** n (1..8, constant after inlining) vectors: for each of one row's non-zeros t, dwt[idx[t], 0:4n] += val[t] * dz[0:4n] */
// @ts-ignore: decorator
@inline function accBlock(n: i32, dwt: usize, idx: usize, val: usize, end: usize, dz: usize): void {
  const d0 = v128.load(dz, 0);
  const d1 = n > 1 ? v128.load(dz, 16) : d0;
  const d2 = n > 2 ? v128.load(dz, 32) : d0;
  const d3 = n > 3 ? v128.load(dz, 48) : d0;
  const d4 = n > 4 ? v128.load(dz, 64) : d0;
  const d5 = n > 5 ? v128.load(dz, 80) : d0;
  const d6 = n > 6 ? v128.load(dz, 96) : d0;
  const d7 = n > 7 ? v128.load(dz, 112) : d0;
  for (; idx < end; idx += 4, val += 4) {
    const v = v128.load32_splat(val);
    const w = dwt + <usize>load<u32>(idx);
    v128.store(w, madd(v, d0, v128.load(w, 0)), 0);
    if (n > 1) v128.store(w, madd(v, d1, v128.load(w, 16)), 16);
    if (n > 2) v128.store(w, madd(v, d2, v128.load(w, 32)), 32);
    if (n > 3) v128.store(w, madd(v, d3, v128.load(w, 48)), 48);
    if (n > 4) v128.store(w, madd(v, d4, v128.load(w, 64)), 64);
    if (n > 5) v128.store(w, madd(v, d5, v128.load(w, 80)), 80);
    if (n > 6) v128.store(w, madd(v, d6, v128.load(w, 96)), 96);
    if (n > 7) v128.store(w, madd(v, d7, v128.load(w, 112)), 112);
  }
}
