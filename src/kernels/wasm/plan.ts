import type { SlicePlan } from '../../engine/work-plan.js';
import type { ParamStorage } from '../param-storage.js';

/**
 * Where the wasm kernel keeps its buffers inside a thread's scratch region: a header, one record per
 * linear layer, then the buffers. The fields are those of the @unmanaged classes Header and Layer in
 * assembly/layout.ts, listed here by name in the same order with their byte sizes; the loader checks
 * every offset computed from this list against the module's own (`fieldOffset`), so the two cannot
 * drift apart unnoticed.
 */
export const HEADER_FIELDS = [
  ['loss', 8],
  ['nLayers', 4],
  ['nClasses', 4],
  ['correct', 4],
  ['status', 4],
  ['predicted', 4],
  ['params', 4],
  ['momentum', 4],
  ['variance', 4],
  ['ids', 4],
  ['y', 4],
  ['n', 4],
  ['nzStart', 4],
  ['nzIndex', 4],
  ['nzValue', 4],
  ['nzCount', 4],
  ['rowLoss', 4],
  ['rowCorrect', 4],
  ['rowReady', 4],
  ['rowNorm', 4],
  ['listCuts', 4],
  ['cutStride', 4],
  ['bounds', 4],
  ['sliceOf', 4],
  ['acc', 4],
  ['sgd', 4],
  ['noiseTmp', 4],
  ['expTmp', 4],
  ['logits', 4],
  ['listIdx', 4],
  ['listVal', 4],
] as const;
export const LAYER_FIELDS = [
  ['nIn', 4],
  ['nOut', 4],
  ['sIn', 4],
  ['sOut', 4],
  ['w', 4],
  ['b', 4],
  ['inputs', 4],
  ['douts', 4],
  ['row', 4],
] as const;
/** Bytes of the Sgd record (assembly/update.ts): seven f32 or u32 and a pointer (SGD, DP noise), then a u32, eight f32 and a pointer (AdamW). */
const SGD_BYTES = 72;
/** noise.ts NOISE_SCRATCH: a call's four vectors of normals, then Philox's two multipliers */
const NOISE_SCRATCH = 96;

export type HeaderField = (typeof HEADER_FIELDS)[number][0];
export type LayerField = (typeof LAYER_FIELDS)[number][0];

/** Byte offsets of a record's fields (each aligned to its size) and the record's size (AssemblyScript adds no tail padding). */
function offsets<N extends string>(fields: readonly (readonly [N, number])[]): { at: Record<N, number>; bytes: number } {
  const at = {} as Record<N, number>;
  let o = 0;
  for (const [name, size] of fields) {
    o = Math.ceil(o / size) * size;
    at[name] = o;
    o += size;
  }
  return { at, bytes: o };
}

export const HEADER = offsets(HEADER_FIELDS);
export const LAYER = offsets(LAYER_FIELDS);

/** What the module reports, in fieldOffset's order: every field's offset, then the sizes of Header, Layer and Sgd, and the noise's scratch. */
export function expectedOffsets(): number[] {
  return [...HEADER_FIELDS.map(([f]) => HEADER.at[f]), ...LAYER_FIELDS.map(([f]) => LAYER.at[f]), HEADER.bytes, LAYER.bytes, SGD_BYTES, NOISE_SCRATCH];
}

const ALIGN = 64; // a cache line
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

/** Scratch buffers' byte offsets from the (64-aligned) header. */
export interface ScratchPlan {
  /** bytes of scratch needed, including the slack to align its start */
  bytes: number;
  sgd: number;
  noiseTmp: number;
  expTmp: number;
  logits: number;
  listIdx: number;
  listVal: number;
  bounds: number;
  sliceOf: number;
  acc: number;
  /** per layer: one evaluated row's output [sOut] */
  rows: number[];
  /** [rows, nClasses] f32 where predictions are staged when the caller's are not in shared memory */
  probs: number;
  /** rows the probs area holds */
  probRows: number;
}

/**
 * The scratch layout for a model stored as `storage` and a slice plan (byte sizes, f32/i32 elements):
 *   header, layer records      HEADER.bytes + L * LAYER.bytes
 *   sgd                        the slice's optimizer settings
 *   expTmp [nClasses] f64, logits [pad4(nClasses)], listIdx, listVal [nIn]
 *   bounds [first-layer slices + 1] i32, sliceOf [nIn] i32    the slices' first inputs, and each input's slice
 *   acc [plan.accFloats]                            a slice's gradient rows and its bias
 *   rows: per layer [sOut]
 *   probs [probRows, nClasses]
 */
export function wasmScratchPlan(storage: ParamStorage, plan: SlicePlan, probRows: number): ScratchPlan {
  const { layout } = storage;
  const L = layout.linears.length;
  const nClasses = layout.sizes[L];
  let used = align(HEADER.bytes + L * LAYER.bytes);
  const take = (bytes: number): number => {
    const at = used;
    used += align(Math.max(4, bytes));
    return at;
  };
  const sgd = take(SGD_BYTES);
  const noiseTmp = take(NOISE_SCRATCH);
  const expTmp = take(8 * nClasses);
  const logits = take(4 * storage.linears[L - 1].biasLength);
  const listIdx = take(4 * layout.nIn);
  const listVal = take(4 * layout.nIn);
  const bounds = take(4 * plan.firstLayerBounds.length);
  const sliceOf = take(4 * layout.nIn);
  const acc = take(4 * plan.accFloats);
  const rows = storage.linears.map((t) => take(4 * t.biasLength));
  const probs = take(4 * probRows * nClasses);
  return { bytes: used + ALIGN, sgd, noiseTmp, expTmp, logits, listIdx, listVal, bounds, sliceOf, acc, rows, probs, probRows };
}
