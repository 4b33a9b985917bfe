// The kernel's view of its scratch region: a header, one record per linear layer, then the buffers
// they point to. The TypeScript side (src/kernels/wasm/plan.ts) lays them out and writes them once
// per instance; every field here is listed there by name, and the loader checks each offset
// against `fieldOffset` (index.ts) before it writes a word.

/** What a call reports when its inputs are out of range (the call then stops where it found it). */
export const enum Status {
  Ok = 0,
  /** a batch row's sample id is outside the split */
  BadIndex = 1,
  /** a label is outside [0, nClasses) */
  BadLabel = 2,
  /** a row's non-zero list does not fit the row: longer than it, out of order, or naming an input outside it */
  BadList = 3,
}

@unmanaged
export class Header {
  /** evaluate's output: the summed loss of its rows */
  loss: f64;
  /** number of linear layers */
  nLayers: i32;
  nClasses: i32;
  /** evaluate's output: the number of its rows classified correctly */
  correct: i32;
  /** the last call's Status */
  status: i32;
  /** the predicted class of the last row through crossEntropy */
  predicted: i32;
  /** the parameter block [P], SGD's momentum buffer or AdamW's first moment [P] and AdamW's second moment [P] (0: none), as stored (plan.ts) */
  params: usize;
  momentum: usize;
  variance: usize;
  /** the batch's sample ids [maxBatch] i32 */
  ids: usize;
  /** the training split: y [n] i32, and each row's non-zero inputs: nzStart [n + 1], nzIndex (k), nzValue [nzCount] */
  y: usize;
  n: i32;
  nzStart: usize;
  nzIndex: usize;
  nzValue: usize;
  nzCount: i32;
  /** per batch row: its loss [maxBatch] f64 and 1 when it was classified correctly [maxBatch] i32 */
  rowLoss: usize;
  rowCorrect: usize;
  /** rowReady [maxBatch] i32: the step whose rows pass last wrote the row's factors (atomic) */
  rowReady: usize;
  /** rowNorm [maxBatch] f64: each row's whole per-sample gradient norm, before clipping */
  rowNorm: usize;
  /** listCuts [maxBatch, cutStride] i32: row r's list position at each first-layer slice bound */
  listCuts: usize;
  /** first-layer slices + 1 */
  cutStride: i32;
  /** bounds [cutStride] i32: the first-layer slices' first inputs, then nIn */
  bounds: usize;
  /** sliceOf [nIn] i32: each input's first-layer slice (the bounds, as a lookup) */
  sliceOf: usize;
  /** acc: a slice's gradient accumulator (rows of the first layer's Wᵀ, then its bias row) */
  acc: usize;
  /** sgd: the slice's optimizer settings (update.ts Sgd) */
  sgd: usize;
  /** noiseTmp [6] v128: one call's normals, then Philox's multipliers (noise.ts) */
  noiseTmp: usize;
  /** expTmp [nClasses] f64: one row's exp(z - max) */
  expTmp: usize;
  /** logits [pad4(nClasses)] f32: one row's */
  logits: usize;
  /** an evaluated row's non-zero inputs: listIdx (k) [nIn] i32, listVal [nIn] f32 */
  listIdx: usize;
  listVal: usize;
}

@unmanaged
export class Layer {
  nIn: i32;
  nOut: i32;
  /** nIn and nOut rounded up to multiples of 4: the strides of the rows below */
  sIn: i32;
  sOut: i32;
  /**
   * byte offsets in the parameter block of the weight and of the bias b [sOut]. The first layer's
   * weight is Wᵀ [sIn, sOut] (input k's row Wᵀ[k, :]); a later layer's is W [sOut, sIn]. Padding is zero.
   */
  w: usize;
  b: usize;
  /** inputs [maxBatch, sIn]: each batch row's input to this layer (layers > 0: the previous ReLU's output) */
  inputs: usize;
  /** douts [maxBatch, sOut]: each batch row's d loss / d (this layer's output, before its ReLU) */
  douts: usize;
  /** row [sOut] f32: one evaluated row's output */
  row: usize;
}

/** The record of layer l. */
// @ts-ignore: decorator
@inline export function layerAt(h: Header, l: i32): Layer {
  return changetype<Layer>(changetype<usize>(h) + offsetof<Header>() + <usize>l * offsetof<Layer>());
}
