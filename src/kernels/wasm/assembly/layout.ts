// The kernel's view of its scratch region: a header, one record per linear layer, then the buffers
// they point to. The TypeScript side (src/kernels/wasm/plan.ts) lays them out and writes the
// header once per instance; every word here is 4 bytes and the order must match plan.ts
// (`headerLayout()` in index.ts reports the offsets so the loader can check them).

/** How a layer computes: chosen per call from the density of its input. */
export const enum Path {
  Auto = 0,
  Sparse = 1,
  Dense = 2,
}

/** Set by the kernel when a call's inputs are out of range (the call then computes nothing). */
export const enum Status {
  Ok = 0,
  BadIndex = 1,
  BadLabel = 2,
  /** a row's non-zero list (Split.nonZero) is longer than a row or names an input outside it */
  BadList = 3,
}

@unmanaged
export class Header {
  /** number of linear layers */
  nLayers: i32;
  maxRows: i32;
  nClasses: i32;
  /** Path.Auto, or a forced path (tests and benchmarks) */
  path: i32;
  /** labels [maxRows] i32: the chunk's labels, gathered */
  labels: usize;
  /** rows of the last call (the stage exports for benchmarks re-run on it) */
  rows: i32;
  /** expTmp [nClasses] f64: one row's exp(z - max) */
  expTmp: usize;
  /** srcIds [rows] i32: the last gradient call's sample ids (idx), for its rows' non-zero lists */
  srcIds: usize;
  /** outputs of the last call: the summed loss, the number correct, Status */
  loss: f64;
  correct: i32;
  status: i32;
  /**
   * the last call's input rows' non-zero lists (Split.nonZero), or srcStart = 0 when it has none
   * (then layer 0 lists its input's non-zeros itself):  srcStart [n + 1], srcIndex [nnz] i32
   */
  srcStart: usize;
  srcIndex: usize;
  srcValue: usize;
  _pad5: i32;
}

@unmanaged
export class Layer {
  nIn: i32;
  nOut: i32;
  /** nOut rounded up to a multiple of 4: the row stride of wt, bias, act, dact, dwt */
  sOut: i32;
  /** byte offsets of W (as wTrans says) and b [nOut] in the parameter block (and in a gradient slot) */
  wOff: u32;
  bOff: u32;
  /** rowsTbl [maxRows] u32: address of each input row (layer 0: the dataset rows by idx; others: the previous act) */
  rowsTbl: usize;
  /**
   * wt [pad4(nIn), sOut]: W transposed, zero-padded (the sparse forward's when W is stored as is:
   * its rows of used input groups refreshed from the parameters each call); when W is stored
   * transposed, W [nOut, nIn] for the dense forward instead; for l > 0 also wd [nOut, pad4(nIn)] f64,
   * W in float64 (the input gradient's, written by it each call after the forward is done with wt)
   */
  wt: usize;
  /** bias [sOut]: b, zero-padded */
  bias: usize;
  /** act [maxRows, sOut]: this layer's output (after the ReLU for hidden layers, the logits for the last) */
  act: usize;
  /** dact [maxRows, sOut]: d loss / d (pre-activation output) */
  dact: usize;
  /**
   * dwt [nIn, sOut]: dW transposed (the sparse path when W is stored as is; rows of used input groups
   * only), or dW [nOut, nIn] (the dense path when W is stored transposed)
   */
  dwt: usize;
  /**
   * the input's non-zeros, row by row: nzStart [maxRows + 1], nzIdx/nzVal [maxRows * nIn] (column,
   * value); after nzStart, the used-group flags [ceil(nIn / 4)] i32 (usedFlags)
   */
  nzStart: usize;
  nzIdx: usize;
  nzVal: usize;
  /** per call: Path.Sparse or Path.Dense as chosen in the forward pass */
  mode: i32;
  /**
   * 1 when the parameter block holds W transposed, Wᵀ [pad4(nIn), sOut] at wOff, zero-padded (the
   * first layer: the sparse path then reads and writes Wᵀ where it lies); 0 when it holds W [nOut, nIn]
   */
  wTrans: i32;
}

/** The record of layer l. */
// @ts-ignore: decorator
@inline export function layerAt(h: Header, l: i32): Layer {
  return changetype<Layer>(changetype<usize>(h) + offsetof<Header>() + <usize>l * offsetof<Layer>());
}

/** The used-group flags of layer L (after its nzStart [maxRows + 1]). */
// @ts-ignore: decorator
@inline export function usedFlags(h: Header, L: Layer): usize {
  return L.nzStart + ((<usize>h.maxRows + 1) << 2);
}
