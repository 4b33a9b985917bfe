// The slices pass: for a slice of one layer's parameters, the batch mean of the rows' per-sample
// gradients, summed in row order from the factors the rows pass left (each row's gradient is
// dW_r = dout_r ⊗ in_r, db_r = dout_r), and the SGD update of those parameters in place. Each sum
// runs over the rows 0, 1, ..., B - 1 whichever slice holds the element, so no cut changes a byte.
// (The `switch` arms that pass each block width as a literal: see rows.ts.)

import { Header, Layer } from './layout';
import { normals, setMultipliers, transpose4 } from './noise';
import { rowReady } from './ready';
import { at4, firstLanes, madd, zero4 } from './simd';
import { Sgd, step1, stepRun } from './update';

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
  const passes = (nv + 12) / 13; // blocks of up to 13 vectors (accBlock)
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
        case 13: accBlock(13, base + off, rowBytes, idx, val, end, dz + off); break;
        case 12: accBlock(12, base + off, rowBytes, idx, val, end, dz + off); break;
        case 11: accBlock(11, base + off, rowBytes, idx, val, end, dz + off); break;
        case 10: accBlock(10, base + off, rowBytes, idx, val, end, dz + off); break;
        case 9: accBlock(9, base + off, rowBytes, idx, val, end, dz + off); break;
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
  if (o.noiseStd != 0) {
    transposedNoise(H, L, o, acc, lo, lo + K);
    if (bias) biasNoise(H, 0, o, biasAcc, 0, L.nOut);
  }
  stepRun(o, H.params + L.w + <usize>lo * rowBytes, acc, <usize>K * rowBytes);
  if (bias) stepRun(o, H.params + L.b, biasAcc, rowBytes);
  return true;
}

/**
 * DP noise into a first-layer slice's accumulator, rows [k0, k1) of Wᵀ (k0 a multiple of 4): σ C z
 * with z the normal of W_0[j, k]. Four output units a call, one in each lane, so that normal w of the
 * call is input 4g + w's row segment [j, j + 4): added as it is, lanes past nOut left out.
 */
function transposedNoise(H: Header, L: Layer, o: Sgd, acc: usize, k0: i32, k1: i32): void {
  const rowBytes = <usize>L.sOut << 2;
  const std = f32x4.splat(o.noiseStd);
  const z = H.noiseTmp;
  setMultipliers(z);
  for (let g = k0 >> 2; g << 2 < k1; g++) {
    for (let j = 0; j < L.nOut; j += 4) {
      normals(i32x4.splat(g), i32x4.add(i32x4.splat(j), i32x4(0, 1, 2, 3)), i32x4.splat(0), i32x4.splat(o.noiseStep), o.seed, z);
      const keep = firstLanes(L.nOut - j); // outputs j .. j + 3 that exist
      for (let w = 0; w < 4 && (g << 2) + w < k1; w++) {
        const a = acc + <usize>((g << 2) + w - k0) * rowBytes + (<usize>j << 2);
        v128.store(a, f32x4.add(v128.load(a), v128.and(f32x4.mul(std, v128.load(z + (<usize>w << 4))), keep)));
      }
    }
  }
}

/**
 * DP noise into biases [j0, j1) of layer l: biasAcc[j - j0] += σ C z(b_l[j]). Four quads of
 * biases a call, one in each lane, transposed so that each vector holds four neighbouring biases.
 */
function biasNoise(H: Header, l: i32, o: Sgd, biasAcc: usize, j0: i32, j1: i32): void {
  const z = H.noiseTmp;
  setMultipliers(z);
  for (let q = j0 >> 2; q << 2 < j1; q += 4) {
    normals(i32x4.add(i32x4.splat(q), i32x4(0, 1, 2, 3)), i32x4.splat(0), i32x4.splat(2 * l + 1), i32x4.splat(o.noiseStep), o.seed, z);
    transpose4(z);
    for (let i = 0; i < 16; i++) {
      const j = (q << 2) + i;
      if (j < j0) continue;
      if (j >= j1) break;
      const a = at4(biasAcc, j - j0);
      store<f32>(a, load<f32>(a) + o.noiseStd * load<f32>(at4(z, i)));
    }
  }
}

/**
 * DP noise into a later layer's slice accumulator, output rows [j0, j1) of W (acc [j1 - j0, sIn]):
 * σ C z(W_l[j, k]). Four input quads a call, one in each lane, transposed so that each vector holds
 * four neighbouring inputs; lanes past nIn left out.
 */
function rowsNoise(H: Header, L: Layer, l: i32, o: Sgd, acc: usize, j0: i32, j1: i32): void {
  const inRow = <usize>L.sIn << 2;
  const std = f32x4.splat(o.noiseStd);
  const z = H.noiseTmp;
  setMultipliers(z);
  for (let j = j0; j < j1; j++) {
    const row = acc + <usize>(j - j0) * inRow;
    for (let g = 0; g << 2 < L.nIn; g += 4) {
      normals(i32x4.add(i32x4.splat(g), i32x4(0, 1, 2, 3)), i32x4.splat(j), i32x4.splat(2 * l), i32x4.splat(o.noiseStep), o.seed, z);
      transpose4(z);
      for (let i = 0; i < 4 && (g + i) << 2 < L.nIn; i++) {
        const k = (g + i) << 2;
        const keep = firstLanes(L.nIn - k); // inputs k .. k + 3 that exist
        const a = row + (<usize>k << 2);
        v128.store(a, f32x4.add(v128.load(a), v128.and(f32x4.mul(std, v128.load(z + (<usize>i << 4))), keep)));
      }
    }
  }
}

/**
 * n (1..13) vectors of dz held in registers: for each list entry t, acc[idx[t], 0:4n] += val[t] * dz[0:4n].
 * Up to 13 vectors (52 floats: the lesson's 50 outputs in one pass): 13 constants, the splat and one
 * temporary fill the 16 vector registers without spilling, and one pass over the list instead of two
 * made the slices pass 8 to 11% faster. (The forward's 13 accumulators, which change every entry,
 * spilled: it stays at 8.)
 */
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
  const d8 = n > 8 ? v128.load(dz, 128) : d0;
  const d9 = n > 9 ? v128.load(dz, 144) : d0;
  const d10 = n > 10 ? v128.load(dz, 160) : d0;
  const d11 = n > 11 ? v128.load(dz, 176) : d0;
  const d12 = n > 12 ? v128.load(dz, 192) : d0;
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
    if (n > 8) v128.store(w, madd(v, d8, v128.load(w, 128)), 128);
    if (n > 9) v128.store(w, madd(v, d9, v128.load(w, 144)), 144);
    if (n > 10) v128.store(w, madd(v, d10, v128.load(w, 160)), 160);
    if (n > 11) v128.store(w, madd(v, d11, v128.load(w, 176)), 176);
    if (n > 12) v128.store(w, madd(v, d12, v128.load(w, 192)), 192);
  }
}

/**
 * A slice of a later layer, stored as W: its output rows [lo, hi), each W[j, :] with b[j]. With in_r
 * row r's input (inputs of the layer) and dz_r its dout:
 *   acc[j - lo, :] = sum_r dz_r[j] * in_r    (rows where dz_r[j] is zero add nothing: ReLU-masked units)
 *   b[j] from        sum_r dz_r[j]
 * Batch row by batch row: in_r is read once, in blocks of up to 8 vectors held in registers, while
 * every output row of the slice adds its multiple of it into the thread's acc buffer [hi - lo, sIn];
 * then the update.
 */
export function outputRowsSlice(H: Header, L: Layer, l: i32, lo: i32, hi: i32, batchRows: i32, o: Sgd, step: i32): bool {
  const inRow = <usize>L.sIn << 2;
  const outRow = <usize>L.sOut << 2;
  const J = hi - lo;
  const acc = H.acc;
  const biasAcc = acc + <usize>J * inRow; // [J] f32: each output's bias sum
  memory.fill(acc, 0, <usize>J * inRow + (<usize>J << 2));
  const nv = L.sIn >> 2;
  const passes = (nv + 7) >> 3;
  for (let r = 0; r < batchRows; r++) {
    if (!rowReady(H, r, step)) return false; // nothing written yet: the update comes at the end
    const x = L.inputs + <usize>r * inRow;
    const dz = L.douts + <usize>r * outRow + (<usize>lo << 2);
    for (let j = 0; j < J; j++) store<f32>(at4(biasAcc, j), load<f32>(at4(biasAcc, j)) + load<f32>(at4(dz, j)));
    let v0: i32 = 0;
    for (let p = 1; p <= passes; p++) {
      const v1 = (nv * p) / passes;
      const off = <usize>v0 << 4;
      switch (v1 - v0) {
        case 8: rowBlock(8, acc + off, inRow, x + off, dz, J); break;
        case 7: rowBlock(7, acc + off, inRow, x + off, dz, J); break;
        case 6: rowBlock(6, acc + off, inRow, x + off, dz, J); break;
        case 5: rowBlock(5, acc + off, inRow, x + off, dz, J); break;
        case 4: rowBlock(4, acc + off, inRow, x + off, dz, J); break;
        case 3: rowBlock(3, acc + off, inRow, x + off, dz, J); break;
        case 2: rowBlock(2, acc + off, inRow, x + off, dz, J); break;
        case 1: rowBlock(1, acc + off, inRow, x + off, dz, J); break;
      }
      v0 = v1;
    }
  }
  if (o.noiseStd != 0) {
    rowsNoise(H, L, l, o, acc, lo, hi);
    biasNoise(H, l, o, biasAcc, lo, hi);
  }
  stepRun(o, H.params + L.w + <usize>lo * inRow, acc, <usize>J * inRow);
  for (let j = 0; j < J; j++) step1(o, at4(H.params + L.b, lo + j), load<f32>(at4(biasAcc, j)));
  return true;
}

/** n (1..8) vectors of one batch row's input in registers: for each output j with dz[j] != 0, acc[j, 0:4n] += dz[j] * x[0:4n] */
// @ts-ignore: decorator
@inline function rowBlock(n: i32, acc: usize, inRow: usize, x: usize, dz: usize, J: i32): void {
  const x0 = v128.load(x, 0);
  const x1 = n > 1 ? v128.load(x, 16) : x0;
  const x2 = n > 2 ? v128.load(x, 32) : x0;
  const x3 = n > 3 ? v128.load(x, 48) : x0;
  const x4 = n > 4 ? v128.load(x, 64) : x0;
  const x5 = n > 5 ? v128.load(x, 80) : x0;
  const x6 = n > 6 ? v128.load(x, 96) : x0;
  const x7 = n > 7 ? v128.load(x, 112) : x0;
  let a = acc;
  for (let j = 0; j < J; j++, a += inRow) {
    const dj = load<f32>(at4(dz, j));
    if (dj == 0) continue; // a ReLU-masked unit adds nothing
    const s = f32x4.splat(dj);
    v128.store(a, madd(s, x0, v128.load(a, 0)), 0);
    if (n > 1) v128.store(a, madd(s, x1, v128.load(a, 16)), 16);
    if (n > 2) v128.store(a, madd(s, x2, v128.load(a, 32)), 32);
    if (n > 3) v128.store(a, madd(s, x3, v128.load(a, 48)), 48);
    if (n > 4) v128.store(a, madd(s, x4, v128.load(a, 64)), 64);
    if (n > 5) v128.store(a, madd(s, x5, v128.load(a, 80)), 80);
    if (n > 6) v128.store(a, madd(s, x6, v128.load(a, 96)), 96);
    if (n > 7) v128.store(a, madd(s, x7, v128.load(a, 112)), 112);
  }
}
