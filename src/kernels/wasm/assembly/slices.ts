// The slices pass: for a slice of one layer's parameters, the batch mean of the rows' per-sample
// gradients, summed in row order from the factors the rows pass left (each row's gradient is
// dW_r = dout_r ⊗ in_r, db_r = dout_r), and the SGD update of those parameters in place. Each sum
// runs over the rows 0, 1, ..., B - 1 whichever slice holds the element, so no cut changes a byte.

import { Header, Layer } from './layout';
import { rowReady } from './ready';
import { at4, madd, zero4 } from './simd';
import { Sgd, step1, step4, stepRun } from './update';

/**
 * Slice s of the first layer, stored as Wᵀ: its rows [lo, hi), input k's weights Wᵀ[k, :] and, when
 * hi > nIn, the bias (row nIn). With x_r row r's input and dz_r its dout (douts of layer 0):
 *   acc[k - lo, :] = sum_r x_r[k] * dz_r     over row r's non-zero inputs k in the slice (listCuts)
 *   acc[K, :]      = sum_r dz_r              the bias row
 * accumulated in the thread's acc buffer [K + 1, sOut] (K = min(hi, nIn) - lo), then the update.
 */
export function firstLayerSlice(H: Header, L: Layer, s: i32, lo: i32, hi: i32, batchRows: i32, o: Sgd, step: i32): bool {
  const rowBytes = <usize>L.sOut << 2;
  const K = max(0, min(hi, L.nIn) - lo);
  const bias = hi > L.nIn;
  const acc = H.acc;
  const biasAcc = acc + <usize>K * rowBytes;
  memory.fill(acc, 0, <usize>(K + <i32>bias) * rowBytes);
  // input k's accumulator row is at base + k * rowBytes (base itself may lie below acc: the sum wraps)
  const base = acc - <usize>lo * rowBytes;
  const nv = L.sOut >> 2;
  const passes = (nv + 7) >> 3;
  const cutRow = <usize>H.cutStride << 2;
  let cut = at4(H.listCuts, s);
  for (let r = 0; r < batchRows; r++, cut += cutRow) {
    if (!rowReady(H, r, step)) return false; // nothing written yet: the update comes at the end
    const dz = L.douts + <usize>r * rowBytes;
    if (bias) for (let v: usize = 0; v < rowBytes; v += 16) v128.store(biasAcc + v, f32x4.add(v128.load(biasAcc + v), v128.load(dz + v)));
    if (K == 0) continue;
    const t0 = load<i32>(cut);
    const t1 = load<i32>(cut, 4);
    if (t0 == t1) continue;
    const idx = at4(H.nzIndex, t0);
    const val = at4(H.nzValue, t0);
    const end = at4(H.nzIndex, t1);
    let v0: i32 = 0;
    for (let p = 1; p <= passes; p++) {
      const v1 = (nv * p) / passes;
      const off = <usize>v0 << 4;
      switch (v1 - v0) {
        case 8: accBlock(8, base + off, rowBytes, idx, val, end, dz + off); break;
        case 7: accBlock(7, base + off, rowBytes, idx, val, end, dz + off); break;
        case 6: accBlock(6, base + off, rowBytes, idx, val, end, dz + off); break;
        case 5: accBlock(5, base + off, rowBytes, idx, val, end, dz + off); break;
        case 4: accBlock(4, base + off, rowBytes, idx, val, end, dz + off); break;
        case 3: accBlock(3, base + off, rowBytes, idx, val, end, dz + off); break;
        case 2: accBlock(2, base + off, rowBytes, idx, val, end, dz + off); break;
        case 1: accBlock(1, base + off, rowBytes, idx, val, end, dz + off); break;
      }
      v0 = v1;
    }
  }
  stepRun(o, H.params + L.w + <usize>lo * rowBytes, acc, <usize>K * rowBytes);
  if (bias) stepRun(o, H.params + L.b, biasAcc, rowBytes);
  return true;
}

/** n (1..8) vectors of dz held in registers: for each list entry t, acc[idx[t], 0:4n] += val[t] * dz[0:4n] */
// @ts-ignore: decorator
@inline function accBlock(n: i32, base: usize, rowBytes: usize, idx: usize, val: usize, end: usize, dz: usize): void {
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
    const w = base + <usize>load<u32>(idx) * rowBytes;
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

/**
 * A slice of a later layer, stored as W: its output rows [lo, hi), each W[j, :] with b[j]. With in_r
 * row r's input (inputs of the layer) and dz_r its dout:
 *   W[j, :] from sum_r dz_r[j] * in_r      (rows where dz_r[j] is zero add nothing: ReLU-masked units)
 *   b[j]    from sum_r dz_r[j]
 * Each W row is summed in blocks of up to 8 vectors held in registers, then updated.
 */
export function outputRowsSlice(H: Header, L: Layer, lo: i32, hi: i32, batchRows: i32, o: Sgd, step: i32): bool {
  // each output row is updated as soon as it is summed: every batch row must be ready first
  for (let r = 0; r < batchRows; r++) if (!rowReady(H, r, step)) return false;
  const inRow = <usize>L.sIn << 2;
  const outRow = <usize>L.sOut << 2;
  const nv = L.sIn >> 2;
  const passes = (nv + 7) >> 3;
  for (let j = lo; j < hi; j++) {
    const w = H.params + L.w + <usize>j * inRow;
    const dz = at4(L.douts, j);
    let v0: i32 = 0;
    for (let p = 1; p <= passes; p++) {
      const v1 = (nv * p) / passes;
      const off = <usize>v0 << 4;
      switch (v1 - v0) {
        case 8: rowBlock(8, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 7: rowBlock(7, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 6: rowBlock(6, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 5: rowBlock(5, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 4: rowBlock(4, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 3: rowBlock(3, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 2: rowBlock(2, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
        case 1: rowBlock(1, o, w + off, L.inputs + off, inRow, dz, outRow, batchRows); break;
      }
      v0 = v1;
    }
    let sb: f32 = 0;
    for (let r = 0; r < batchRows; r++) sb += load<f32>(dz + <usize>r * outRow);
    step1(o, at4(H.params + L.b, j), sb);
  }
  return true;
}

/** n (1..8) vectors of W[j, :]: a_i = sum_r dz_r[j] * in_r[4i : 4i + 4] in registers, then step4 each. */
// @ts-ignore: decorator
@inline function rowBlock(n: i32, o: Sgd, w: usize, inputs: usize, inRow: usize, dz: usize, outRow: usize, batchRows: i32): void {
  let a0 = zero4(), a1 = zero4(), a2 = zero4(), a3 = zero4(), a4 = zero4(), a5 = zero4(), a6 = zero4(), a7 = zero4();
  let x = inputs;
  let d = dz;
  for (let r = 0; r < batchRows; r++, x += inRow, d += outRow) {
    const dj = load<f32>(d);
    if (dj == 0) continue; // a ReLU-masked unit adds nothing
    const s = f32x4.splat(dj);
    a0 = madd(s, v128.load(x, 0), a0);
    if (n > 1) a1 = madd(s, v128.load(x, 16), a1);
    if (n > 2) a2 = madd(s, v128.load(x, 32), a2);
    if (n > 3) a3 = madd(s, v128.load(x, 48), a3);
    if (n > 4) a4 = madd(s, v128.load(x, 64), a4);
    if (n > 5) a5 = madd(s, v128.load(x, 80), a5);
    if (n > 6) a6 = madd(s, v128.load(x, 96), a6);
    if (n > 7) a7 = madd(s, v128.load(x, 112), a7);
  }
  step4(o, w, a0);
  if (n > 1) step4(o, w + 16, a1);
  if (n > 2) step4(o, w + 32, a2);
  if (n > 3) step4(o, w + 48, a3);
  if (n > 4) step4(o, w + 64, a4);
  if (n > 5) step4(o, w + 80, a5);
  if (n > 6) step4(o, w + 96, a6);
  if (n > 7) step4(o, w + 112, a7);
}
