// The MLP kernel: one call computes a whole chunk (gather by idx, forward, loss, backward, write the
// gradient) in the shared memory, so the JavaScript side only passes addresses.
//
// Model: Lin, ReLU, Lin, ..., Lin with cross-entropy on the logits; lin(x) = x @ W.T + b with
// W [nOut, nIn] (PyTorch's layout) in the flat parameter block, except where a layer's wTrans says
// the block holds Wᵀ (the first layer: src/kernels/param-storage.ts); a gradient slot holds each dW
// as the block holds W. Gradients are SUMMED over the rows.
// A call's result depends only on its inputs: every buffer it reads is written earlier in the same
// call, and every sum runs in a fixed order.

import { denseForward, denseWeightGrad } from './dense';
import { Header, Layer, layerAt, Path, Status, usedFlags } from './layout';
import { biasGrad, fromTransposed, inputGrad, softmaxCrossEntropy, stageBias, toTransposed } from './ops';
import { at4 } from './simd';
import { compactRows, copyRows, sparseForward, sparseWeightGrad } from './sparse';

/**
 * grad := d(sum of the losses of samples idx[0 .. rows)) / d params; H.loss, H.correct := the summed
 * loss and the number classified correctly. Returns a Status (the gradient is untouched unless Ok).
 * When nzStart is not 0, x's rows' non-zeros are listed there (Split.nonZero), and layer 0 copies
 * its rows' lists instead of scanning them (same lists, so the same bytes).
 *   params, grad: [P], x: [n, nIn], y: [n], idx: [rows], nzStart: [n + 1], nzIndex: [nzStart[n]]
 */
export function gradient(hdr: usize, params: usize, x: usize, y: usize, n: i32, idx: usize, rows: i32, grad: usize, nzStart: usize, nzIndex: usize, nzValue: usize): i32 {
  const H = changetype<Header>(hdr);
  H.srcIds = idx;
  H.srcStart = nzStart;
  H.srcIndex = nzIndex;
  H.srcValue = nzValue;
  const L0 = layerAt(H, 0);
  const rowBytes = <usize>L0.nIn << 2;
  for (let b = 0; b < rows; b++) {
    const i = load<i32>(at4(idx, b));
    if (<u32>i >= <u32>n) return fail(H, Status.BadIndex);
    const label = load<i32>(at4(y, i));
    if (<u32>label >= <u32>H.nClasses) return fail(H, Status.BadLabel);
    store<usize>(at4(L0.rowsTbl, b), x + <usize>i * rowBytes);
    store<i32>(at4(H.labels, b), label);
  }
  H.rows = rows;
  if (!forward(H, params, rows, true)) return fail(H, Status.BadList);
  const last = layerAt(H, H.nLayers - 1);
  softmaxCrossEntropy(H, last, rows, last.dact, 0);
  for (let l = H.nLayers - 1; l >= 0; l--) backward(H, l, params, grad, rows);
  H.status = Status.Ok;
  return Status.Ok;
}

/**
 * The summed loss and number correct of rows [0, rows) of x, y, in order (into H.loss, H.correct);
 * the class probabilities into probs when it is not 0. Returns a Status.
 *   x: [rows, nIn], y: [rows], probs: [rows, nClasses]
 */
export function evaluate(hdr: usize, params: usize, x: usize, y: usize, rows: i32, probs: usize): i32 {
  const H = changetype<Header>(hdr);
  const L0 = layerAt(H, 0);
  const rowBytes = <usize>L0.nIn << 2;
  H.srcStart = 0; // lists its rows' non-zeros itself
  for (let b = 0; b < rows; b++) {
    const label = load<i32>(at4(y, b));
    if (<u32>label >= <u32>H.nClasses) return fail(H, Status.BadLabel);
    store<usize>(at4(L0.rowsTbl, b), x + <usize>b * rowBytes);
    store<i32>(at4(H.labels, b), label);
  }
  H.rows = rows;
  forward(H, params, rows, false);
  softmaxCrossEntropy(H, layerAt(H, H.nLayers - 1), rows, 0, probs);
  H.status = Status.Ok;
  return Status.Ok;
}

function fail(H: Header, status: Status): i32 {
  H.status = status;
  return status;
}

/**
 * Each layer in turn: act[l] = lin(input) (ReLU but on the last), on the path its input's density
 * favours (`train`: the backward pass will follow, which weighs in the choice). False if the input's
 * non-zero lists (H.srcStart) do not fit the rows (the forward is then incomplete).
 */
function forward(H: Header, params: usize, rows: i32, train: bool): bool {
  for (let l = 0; l < H.nLayers; l++) if (!forwardLayer(H, l, params, rows, train)) return false;
  return true;
}

function forwardLayer(H: Header, l: i32, params: usize, rows: i32, train: bool): bool {
  const L = layerAt(H, l);
  if (l > 0) {
    // the input rows are the previous layer's output
    const prev = layerAt(H, l - 1);
    const inRow = <usize>prev.sOut << 2;
    for (let b = 0; b < rows; b++) store<usize>(at4(L.rowsTbl, b), prev.act + <usize>b * inRow);
  }
  stageBias(L, params);
  const relu = l < H.nLayers - 1;
  const flags = usedFlags(H, L);
  let sparse = H.path == Path.Sparse;
  if (sparse || H.path == Path.Auto) {
    // the same lists and count either way: copied from the input's own lists when it has them
    const nnz = l == 0 && H.srcStart != 0 ? copyRows(L, rows, flags, H.srcIds, H.srcStart, H.srcIndex, H.srcValue) : compactRows(L, rows, flags);
    if (nnz < 0) return false;
    if (H.path == Path.Auto) sparse = sparseIsFaster(nnz, rows, L.nIn, L.sOut, train, L.wTrans != 0);
  }
  L.mode = sparse ? Path.Sparse : Path.Dense;
  const W = params + L.wOff;
  if (sparse) {
    // the sparse path reads Wᵀ: where the block holds it, or transposed (its used rows) into scratch
    if (!L.wTrans) toTransposed(L, W, L.wt, flags);
    sparseForward(L, L.wTrans ? W : L.wt, rows, relu);
  } else {
    // the dense path reads W: where the block holds it, or copied out of the stored Wᵀ
    if (L.wTrans) fromTransposed(L, W, L.wt, 0);
    denseForward(L, L.wTrans ? L.wt : W, rows, relu);
  }
  return true;
}

/**
 * The backward pass of layer l, from its dact (d loss / d its pre-activation output):
 *   db = sum_b dz[b, :],  dW = dz^T @ input,  and for l > 0 the previous layer's dact through W and its ReLU.
 */
function backward(H: Header, l: i32, params: usize, grad: usize, rows: i32): void {
  const L = layerAt(H, l);
  weightGrad(H, L, grad, rows);
  if (l > 0) inputGrad(L, params, layerAt(H, l - 1), rows);
}

/** db and dW of layer L into the gradient slot, dW laid out as the block holds W (wTrans). */
function weightGrad(H: Header, L: Layer, grad: usize, rows: i32): void {
  biasGrad(L, grad, rows);
  const dW = grad + L.wOff;
  if (L.mode == Path.Sparse) {
    // the sparse path makes dWᵀ: straight into the slot, or into scratch and transposed back
    const flags = usedFlags(H, L);
    if (L.wTrans) {
      sparseWeightGrad(L, dW, rows, flags, true);
    } else {
      sparseWeightGrad(L, L.dwt, rows, flags, false);
      fromTransposed(L, L.dwt, dW, flags);
    }
  } else if (L.wTrans) {
    // the dense path makes dW: into scratch, then transposed into the slot's dWᵀ
    denseWeightGrad(L, L.dwt, rows);
    toTransposed(L, L.dwt, dW, 0);
  } else {
    denseWeightGrad(L, dW, rows);
  }
}

/**
 * Whether the sparse path is the faster for this layer and input, by a cost model fitted to this
 * kernel on x86-64 (AVX-512, V8 11): in units of one multiply-add of the dense tiles,
 *   dense   rows*nIn*sOut         per pass (forward; the weight gradient is a second pass)
 *   sparse  nnz*sOut * 2.1        per pass, and listing the non-zeros: rows*nIn * 7
 * plus converting W (and dW) between its two layouts, nIn*sOut * 5.6 per pass, on the path that
 * needs the layout the block does not hold: the sparse path where W is stored as is, the dense
 * path where the block holds Wᵀ (wTrans). The choice depends only on the input (through nnz) and
 * the layer, so it is as deterministic as the rest. The listing term stays when the lists are
 * copied (Split.nonZero), so whether a split has them never changes the choice, nor the bytes.
 */
function sparseIsFaster(nnz: i32, rows: i32, nIn: i32, sOut: i32, train: bool, wTrans: bool): bool {
  const passes: f64 = train ? 2 : 1;
  const convert = <f64>nIn * <f64>sOut * 5.6 * passes;
  const dense = <f64>rows * <f64>nIn * <f64>sOut * passes + (wTrans ? convert : 0);
  const sparse = <f64>nnz * <f64>sOut * 2.1 * passes + <f64>rows * <f64>nIn * 7 + (wTrans ? 0 : convert);
  return sparse < dense;
}

// ---- for tests and benchmarks ----

/** Byte sizes and offsets the loader checks against its own plan: [Header size, Layer size, offset of loss, of correct]. */
export function headerLayout(i: i32): i32 {
  if (i == 0) return <i32>offsetof<Header>();
  if (i == 1) return <i32>offsetof<Layer>();
  if (i == 2) return <i32>offsetof<Header>('loss');
  if (i == 3) return <i32>offsetof<Header>('correct');
  if (i == 4) return <i32>offsetof<Header>('path');
  if (i == 5) return <i32>offsetof<Header>('srcStart');
  if (i == 6) return <i32>offsetof<Layer>('wTrans');
  return -1;
}

/** Re-runs layer l's forward on the last call's rows (as gradient() did: staging, compaction, product). */
export function stageForward(hdr: usize, params: usize, l: i32): void {
  const H = changetype<Header>(hdr);
  forwardLayer(H, l, params, H.rows, true);
}

/** Re-runs layer l's bias and weight gradient on the last call's rows (needs that call's forward state). */
export function stageWeightGrad(hdr: usize, grad: usize, l: i32): void {
  const H = changetype<Header>(hdr);
  weightGrad(H, layerAt(H, l), grad, H.rows);
}

/** Re-runs layer l's input gradient (l > 0; it stages W in float64 itself). */
export function stageInputGrad(hdr: usize, params: usize, l: i32): void {
  const H = changetype<Header>(hdr);
  inputGrad(layerAt(H, l), params, layerAt(H, l - 1), H.rows);
}

export { sgdUpdate } from './sgd';
