import type { ParamStorage } from '../kernels/param-storage.js';
import { pad4 } from '../kernels/param-storage.js';
import { viewOf, type Arena, type Region } from './arena.js';

/**
 * The per-batch buffers where the rows pass leaves each row's per-sample gradient as its factors,
 * for the slices pass to sum. A linear layer's per-sample weight gradient is rank one,
 * dW_r = dout_r ⊗ in_r (and db_r = dout_r), so a row keeps a few dozen floats per layer instead of a
 * whole gradient:
 *   inputs[l]  [maxBatch, inStride[l]]   in_r of layer l >= 1: the previous layer's ReLU output
 *                                        (layer 0's input is the data row itself); inputs[0] is empty
 *   douts[l]   [maxBatch, outStride[l]]  dout_r of layer l: d loss_r / d (layer l's output, before its ReLU)
 *   loss       [maxBatch] f64            loss_r = logsumexp(z_r) - z_r[y_r]
 *   correct    [maxBatch] i32            1 when row r's largest logit is its label
 *   norm       [maxBatch] f64            the L2 norm of row r's whole per-sample gradient, before any clipping:
 *                                        ||g_r||^2 = sum over layers of ||dout_r||^2 (||in_r||^2 + 1)
 *   ready      [maxBatch] i32            the step whose rows pass last wrote row r (an atomic store
 *                                        after the row's factors: a slice reads a row once it is ready)
 *   listCuts   [maxBatch, cutStride]     for a transposed first layer: where row r's non-zero input
 *                                        list reaches each first-layer slice (SlicePlan.firstLayerBounds)
 * Strides are the widths, padded to whole 4-float vectors for padded storage (the padding is zero).
 * At 784-50-10 with the wasm kernel a row takes 52 + 52 + 12 floats, a loss, a flag and its cuts.
 */
export interface BatchFactors {
  inputs: Float32Array[];
  douts: Float32Array[];
  inStride: number[];
  outStride: number[];
  loss: Float64Array;
  correct: Int32Array;
  norm: Float64Array;
  ready: Int32Array;
  listCuts: Int32Array | null;
  cutStride: number;
}

/** Where the factor buffers lie in the shared memory (what a worker needs to rebuild the views). */
export interface FactorRegions {
  inputs: Region[];
  douts: Region[];
  inStride: number[];
  outStride: number[];
  loss: Region;
  correct: Region;
  norm: Region;
  ready: Region;
  listCuts: Region | null;
  cutStride: number;
}

/**
 * Lays out the factor buffers for batches of up to maxBatch rows; `cutStride` (first-layer slices
 * + 1) is 0 when the first layer is not stored transposed (no lists to cut).
 */
export function allocFactors(arena: Arena, storage: ParamStorage, maxBatch: number, cutStride: number): FactorRegions {
  const { inStride, outStride } = factorStrides(storage);
  return {
    inputs: inStride.map((w) => arena.allocRegion('f32', maxBatch * w)),
    douts: outStride.map((w) => arena.allocRegion('f32', maxBatch * w)),
    inStride,
    outStride,
    loss: arena.allocRegion('f64', maxBatch),
    correct: arena.allocRegion('i32', maxBatch),
    norm: arena.allocRegion('f64', maxBatch),
    ready: arena.allocRegion('i32', maxBatch),
    listCuts: cutStride > 0 ? arena.allocRegion('i32', maxBatch * cutStride) : null,
    cutStride,
  };
}

/** The views of the factor buffers in `memory`. */
export function factorViews(memory: WebAssembly.Memory, r: FactorRegions): BatchFactors {
  return {
    inputs: r.inputs.map((x) => viewOf(memory, { ...x, type: 'f32' })),
    douts: r.douts.map((x) => viewOf(memory, { ...x, type: 'f32' })),
    inStride: r.inStride,
    outStride: r.outStride,
    loss: viewOf(memory, { ...r.loss, type: 'f64' }),
    correct: viewOf(memory, { ...r.correct, type: 'i32' }),
    norm: viewOf(memory, { ...r.norm, type: 'f64' }),
    ready: viewOf(memory, { ...r.ready, type: 'i32' }),
    listCuts: r.listCuts && viewOf(memory, { ...r.listCuts, type: 'i32' }),
    cutStride: r.cutStride,
  };
}

/** Bytes the factor buffers take for batches of maxBatch rows (for the README's memory figures). */
export function factorBytes(storage: ParamStorage, maxBatch: number, cutStride: number): number {
  const { inStride, outStride } = factorStrides(storage);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const perRow = 8 + 4 + 8 + 4 + 4 * cutStride + 4 * (sum(inStride) + sum(outStride)); // loss, correct, norm, ready, cuts, factors
  return perRow * maxBatch;
}

/**
 * Floats per row of each layer's input and output-gradient factors: the layer widths, padded to
 * whole vectors when the storage is; 0 for layer 0's input (the data row itself).
 */
function factorStrides(storage: ParamStorage): { inStride: number[]; outStride: number[] } {
  const width = (n: number) => (storage.options.padded ? pad4(n) : n);
  return {
    inStride: storage.layout.linears.map((s, l) => (l === 0 ? 0 : width(s.nIn))),
    outStride: storage.layout.linears.map((s) => width(s.nOut)),
  };
}
