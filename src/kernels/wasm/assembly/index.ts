// The MLP kernel over the shared memory. Its two training calls are the two phases of a step:
//   trainRows    the rows pass: for each batch row, the forward pass, the loss and the backward
//                pass, leaving the row's factors (each layer's input and output gradient) in the
//                step's shared buffers (rows.ts)
//   updateSlice  the slices pass: for one slice of the parameters, the batch mean of the rows'
//                per-sample gradients dout_r ⊗ in_r, summed in row order, and the update (slices.ts)
// and `evaluate` runs the forward pass over rows of a split. The JavaScript side only passes numbers:
// every address lives in the thread's header (layout.ts), written once.
//
// Model: Lin, ReLU, Lin, ..., Lin with cross-entropy on the logits; lin(x) = x @ W.T + b, the first
// layer stored as Wᵀ, the others as W, all zero-padded to whole vectors (src/kernels/param-storage.ts).
// A call's result depends only on its inputs: every scratch buffer it reads is written earlier in
// the same call, and every sum runs in a fixed order.

import { Header, Layer, layerAt, Status } from './layout';
import { clipRow, crossEntropy, cutList, denseForward, inputGrad, listFits, listForward, listRow, rowNorm } from './rows';
import { firstLayerSlice, outputRowsSlice } from './slices';
import { Sgd } from './update';
import { at4, rowOf } from './simd';

/**
 * The rows pass over batch rows [lo, hi) of step `step`: each row r is sample ids[r], its first layer
 * taken from its non-zero list. Leaves, per row: every layer's output gradient (douts), every later
 * layer's input (inputs), the list's cuts at the first-layer slices, the loss, whether it was right
 * and its gradient's norm; with `clip` > 0, scales the row's output gradients (so its whole
 * per-sample gradient) by min(1, clip / (norm + 1e-6)); then marks the row ready for the step
 * (rowReady[r] = step, an atomic store after all of it). Returns a Status; rows before a bad one are done.
 */
export function trainRows(hdr: usize, lo: i32, hi: i32, step: i32, clip: f64): i32 {
  const H = changetype<Header>(hdr);
  for (let r = lo; r < hi; r++) {
    const status = trainRow(H, r, clip);
    if (status != Status.Ok) return fail(H, status);
    atomic.store<i32>(at4(H.rowReady, r), step);
  }
  H.status = Status.Ok;
  return Status.Ok;
}

function trainRow(H: Header, r: i32, clip: f64): i32 {
  const i = load<i32>(at4(H.ids, r));
  if (<u32>i >= <u32>H.n) return Status.BadIndex;
  const label = load<i32>(at4(H.y, i));
  if (<u32>label >= <u32>H.nClasses) return Status.BadLabel;
  const L0 = layerAt(H, 0);
  // the lists were checked once (checkLists): each is strictly ascending inside [0, nIn)
  const t0 = load<i32>(at4(H.nzStart, i));
  const t1 = load<i32>(at4(H.nzStart, i + 1));
  cutList(H, r, t0, t1); // the loader checked that the cuts match the plan's first-layer slices

  const last = H.nLayers - 1;
  listForward(L0, H.params, at4(H.nzIndex, t0), at4(H.nzValue, t0), t1 - t0, last == 0 ? H.logits : rowOf(layerAt(H, 1).inputs, r, L0.sOut), last > 0);
  for (let l = 1; l <= last; l++) {
    const L = layerAt(H, l);
    denseForward(L, H.params, rowOf(L.inputs, r, L.sIn), l == last ? H.logits : rowOf(layerAt(H, l + 1).inputs, r, L.sOut), l < last);
  }
  const top = layerAt(H, last);
  store<f64>(H.rowLoss + (<usize>r << 3), crossEntropy(H, H.logits, label, top.sOut, rowOf(top.douts, r, top.sOut), 0));
  store<i32>(at4(H.rowCorrect, r), <i32>(H.predicted == label));
  for (let l = last; l >= 1; l--) {
    const L = layerAt(H, l);
    inputGrad(L, H.params, rowOf(L.douts, r, L.sOut), rowOf(L.inputs, r, L.sIn), rowOf(layerAt(H, l - 1).douts, r, L.sIn));
  }
  const norm = rowNorm(H, r, at4(H.nzValue, t0), t1 - t0);
  store<f64>(H.rowNorm + (<usize>r << 3), norm);
  if (clip > 0) clipRow(H, r, <f32>min(1.0, clip / (norm + 1e-6)));
  return Status.Ok;
}

/**
 * Whether every row's non-zero list of the training split fits its row (listFits), with its start
 * and end inside the lists: the rows pass trusts them, and a slice writes where their inputs say.
 * Returns a Status.
 */
export function checkLists(hdr: usize): i32 {
  const H = changetype<Header>(hdr);
  const nIn = layerAt(H, 0).nIn;
  let t0 = load<i32>(H.nzStart);
  if (t0 != 0) return fail(H, Status.BadList);
  for (let i = 0; i < H.n; i++) {
    const t1 = load<i32>(at4(H.nzStart, i + 1));
    if (t1 > H.nzCount || !listFits(H.nzIndex, t0, t1, nIn)) return fail(H, Status.BadList);
    t0 = t1;
  }
  H.status = Status.Ok;
  return Status.Ok;
}

/**
 * The slices pass for one slice: rows [lo, hi) of layer `layer`'s gradient as stored (the first
 * layer: inputs of Wᵀ, row nIn its bias, `s` its index among the first layer's slices; later layers:
 * outputs of W with their biases), over batch rows [0, batchRows) of step `step`, then SGD with the
 * settings setUpdate gave (and DP noise, added to each element's sum before the division). A slice may start before the rows pass has ended: it reads a row once the row is marked
 * ready for the step. Returns 1 when done, 0 when a row it needs stayed unready for a while (nothing
 * is written then: the caller waits for the rows pass and calls again).
 */
export function updateSlice(hdr: usize, layer: i32, s: i32, lo: i32, hi: i32, batchRows: i32, step: i32): i32 {
  const H = changetype<Header>(hdr);
  const o = changetype<Sgd>(H.sgd);
  o.toBuf = H.momentum - H.params;
  o.toBuf2 = H.variance - H.params;
  const L = layerAt(H, layer);
  return <i32>(layer == 0 ? firstLayerSlice(H, L, s, lo, hi, batchRows, o, step) : outputRowsSlice(H, L, layer, lo, hi, batchRows, o, step));
}

/**
 * The optimizer settings of the slices that follow (written once a step by each thread): SGD's, what
 * the summed gradient is divided by, and DP-SGD's noise (std 0: none) with its seed and step.
 */
export function setUpdate(hdr: usize, meanOver: f32, lr: f32, momentum: f32, wd: f32, noiseStd: f32, seed: u32, noiseStep: u32): void {
  const o = changetype<Sgd>(changetype<Header>(hdr).sgd);
  o.adamw = 0;
  o.meanOver = meanOver;
  o.lr = lr;
  o.momentum = momentum;
  o.wd = wd;
  o.noiseStd = noiseStd;
  o.seed = seed;
  o.noiseStep = noiseStep;
}

/**
 * Makes the slices that follow update by AdamW (after setUpdate, which sets SGD): its betas and
 * 1 - betas, eps, and the step's scalars, computed in float64 by the caller as PyTorch computes them
 * in Python floats: stepSize = lr / (1 - beta1^t), bc2Sqrt = sqrt(1 - beta2^t), decay = 1 - lr wd.
 */
export function setAdamW(hdr: usize, beta1: f32, c1: f32, beta2: f32, c2: f32, eps: f32, stepSize: f32, bc2Sqrt: f32, decay: f32): void {
  const o = changetype<Sgd>(changetype<Header>(hdr).sgd);
  o.adamw = 1;
  o.beta1 = beta1;
  o.c1 = c1;
  o.beta2 = beta2;
  o.c2 = c2;
  o.eps = eps;
  o.stepSize = stepSize;
  o.bc2Sqrt = bc2Sqrt;
  o.decay = decay;
}

/**
 * The summed loss and number correct of rows [0, rows) of x, y, in order (into H.loss, H.correct);
 * the class probabilities into probs when it is not 0. Each row's non-zero inputs are listed from
 * the row itself. Returns a Status.   x: [rows, nIn], y: [rows], probs: [rows, nClasses]
 */
export function evaluate(hdr: usize, x: usize, y: usize, rows: i32, probs: usize): i32 {
  const H = changetype<Header>(hdr);
  const L0 = layerAt(H, 0);
  const last = H.nLayers - 1;
  const top = layerAt(H, last);
  let loss: f64 = 0;
  let correct: i32 = 0;
  for (let b = 0; b < rows; b++) {
    const label = load<i32>(at4(y, b));
    if (<u32>label >= <u32>H.nClasses) return fail(H, Status.BadLabel);
    const count = listRow(x + ((<usize>b * <usize>L0.nIn) << 2), L0.nIn, H.listIdx, H.listVal);
    listForward(L0, H.params, H.listIdx, H.listVal, count, last == 0 ? H.logits : L0.row, last > 0);
    for (let l = 1; l <= last; l++) {
      const L = layerAt(H, l);
      denseForward(L, H.params, layerAt(H, l - 1).row, l == last ? H.logits : L.row, l < last);
    }
    loss += crossEntropy(H, H.logits, label, top.sOut, 0, probs == 0 ? 0 : probs + ((<usize>b * <usize>H.nClasses) << 2));
    if (H.predicted == label) correct++;
  }
  H.loss = loss;
  H.correct = correct;
  H.status = Status.Ok;
  return Status.Ok;
}

function fail(H: Header, status: Status): i32 {
  H.status = status;
  return status;
}

// The loader's layout check (generated from plan.ts's field lists by scripts/build-wasm.mjs).
export { fieldOffset } from './field-offsets';

