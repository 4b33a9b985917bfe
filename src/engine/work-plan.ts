import type { ParamStorage } from '../kernels/param-storage.js';

/**
 * How a step's work is cut into items that the threads claim one at a time. A training step has two
 * phases: the rows (each batch row's forward and backward pass) and the slices (each parameter
 * slice's batch mean and update). No cut changes a byte of the result: a row's values depend on
 * that row alone, and every gradient element is a sum over the batch rows in row order, whichever
 * slice holds it (docs/architecture.md). So the cuts are free to follow the thread count: many small
 * items for many threads, few larger ones for one.
 */

/** Row items per computing thread: enough to even out threads that run at different speeds. */
export const ROW_ITEMS_PER_THREAD = 4;
/** The most rows in one training row item. */
export const MAX_ITEM_ROWS = 64;
/**
 * Slices shrink as the cut goes on (guided self-scheduling): each takes a thread's share of what is
 * left, but no less than 1/SMALLEST_SHARE of a thread's share of the whole. The threads claim the
 * costliest first, so the last slices claimed, while the other threads finish theirs, are the small
 * ones: about T ln 8 + a few slices in all for T threads. Every slice costs a little for each batch
 * row, whether the row has inputs in it or not, so fewer slices make less work: halving the
 * smallest slice (and its share of what is left) cost more than the shorter wait for the last ones
 * gained (`npm run bench:scaling -- --project`).
 */
const SMALLEST_SHARE = 8;
/** Rows per evaluation item (the cut is fixed: the items' sums are added in item order). */
export const EVAL_ITEM_ROWS = 500;
/**
 * The most floats a slice accumulates its gradient in (a thread's own buffer, [slice rows, row
 * stride]): 32 KB, so that it stays in a core's L1 cache.
 */
export const MAX_ACC_FLOATS = 8192;
/** Slices of padded storage start at multiples of 4 rows: 4 padded rows are whole 64-byte lines. */
const PADDED_ROW_ALIGN = 4;

/** Rows per row item for a batch of `batchRows` rows on `threads` computing threads. */
export function rowsPerItem(batchRows: number, threads: number): number {
  return Math.max(1, Math.min(MAX_ITEM_ROWS, Math.ceil(batchRows / (ROW_ITEMS_PER_THREAD * threads))));
}

/** The row items of a batch: near-equal runs of at most rowsPerItem rows. */
export function rowItemCount(batchRows: number, threads: number): number {
  return Math.ceil(batchRows / rowsPerItem(batchRows, threads));
}

/** The evaluation items of a split of `rows` rows. */
export function evalItemCount(rows: number): number {
  return Math.max(1, Math.ceil(rows / EVAL_ITEM_ROWS));
}

/** The first row of item c (c = items: the end) when `rows` rows are cut into `items` near-equal items. */
export function itemStart(rows: number, items: number, c: number): number {
  return Math.floor((c * rows) / items);
}

/**
 * A parameter slice: rows [lo, hi) of layer `layer`'s gradient as the kernel stores the layer.
 * Transposed (Wᵀ): row k < nIn is input k's weights Wᵀ[k, :], row nIn the bias. As the model holds
 * it (W): row j is output j's weights W[j, :] and its bias b[j].
 */
export interface Slice {
  layer: number;
  lo: number;
  hi: number;
  /** for a slice of a transposed first layer: its place among them, the column of BatchFactors.listCuts; else -1 */
  part: number;
  /** its estimated cost (multiply-adds at the plan's batch size) */
  cost: number;
}

/** The slices' cut, with what kernels need to walk it. */
export interface SlicePlan {
  /**
   * The slices in the order the threads claim them: the costliest first, so that the last ones
   * claimed, while other threads finish theirs, are the short ones.
   */
  slices: Slice[];
  /**
   * A transposed first layer's slice starts, then nIn: [first-layer slices + 1] (empty when the first
   * layer is not transposed). Each row's non-zero input list is cut at these inputs in the rows pass,
   * so that a slice reads only its own part of each list.
   */
  firstLayerBounds: number[];
  /** floats of the largest accumulator a slice needs (its weight rows, and its bias) */
  accFloats: number;
}

/** Gradient rows of layer l as stored: inputs and the bias row when transposed, else outputs. */
export function sliceRows(storage: ParamStorage, l: number): number {
  const s = storage.layout.linears[l];
  return storage.linears[l].transposed ? s.nIn + 1 : s.nOut;
}

/**
 * Cuts the parameters into slices of decreasing cost (SMALLEST_SHARE), never across a layer, each slice's accumulator within MAX_ACC_FLOATS. The cost of a gradient row is its multiply-adds over the batch (for a transposed first
 * layer, its input's non-zero rows: `inputDensity`, the share of training rows where input k is not
 * zero) plus its update; hidden layers' inputs are taken as half zero. The costs only balance the
 * slices: any cut gives the same bytes.
 *   inputDensity: [nIn], or null (taken as dense)
 */
/**
 * The cost model's guesses where nothing is measured: a hidden layer's input (a ReLU's output) is
 * non-zero about half the time, and so is its output gradient (zero where the ReLU is off). Any
 * guess gives the same bytes; a poor one only balances the slices less well.
 */
const HIDDEN_ACTIVE = 0.5;

export function planSlices(storage: ParamStorage, inputDensity: Float64Array | null, batchSize: number, threads: number): SlicePlan {
  const { layout } = storage;
  const L = layout.linears.length;
  const align = storage.options.padded ? PADDED_ROW_ALIGN : 1;
  const costs = layout.linears.map((s, l) => {
    const t = storage.linears[l];
    const rows = sliceRows(storage, l);
    const c = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      if (t.transposed) {
        const density = r === s.nIn ? 1 : l === 0 && inputDensity ? inputDensity[r] : HIDDEN_ACTIVE;
        c[r] = (batchSize * density + 1) * t.stride;
      } else {
        // the last layer's output gradient is never zero; a hidden one's is zero where the ReLU is off
        const active = l === L - 1 ? 1 : HIDDEN_ACTIVE;
        c[r] = (batchSize * active + 1) * t.stride + batchSize;
      }
    }
    return c;
  });
  const total = costs.reduce((sum, c) => sum + c.reduce((a, b) => a + b, 0), 0);
  let left = total;
  let target = total / threads;
  const smallest = total / (SMALLEST_SHARE * threads);
  const slices: Slice[] = [];
  let accFloats = 0;
  costs.forEach((c, l) => {
    const t = storage.linears[l];
    // a slice accumulates in a buffer of its rows and a bias (a row of stride floats if transposed, else a float a row): keep it in L1
    const fits = t.transposed ? (MAX_ACC_FLOATS - t.stride) / t.stride : MAX_ACC_FLOATS / (t.stride + 1);
    const maxRows = Math.max(align, Math.floor(fits / align) * align);
    let lo = 0;
    let cost = 0;
    for (let r = 0; r < c.length; r++) {
      cost += c[r];
      const end = r + 1;
      if (end === c.length || (end % align === 0 && (cost >= target || end - lo >= maxRows))) {
        slices.push({ layer: l, lo, hi: end, part: l === 0 && t.transposed ? slices.length : -1, cost });
        // a transposed layer's bias row is the buffer's last row; a slice of output rows keeps a bias sum a row
        const acc = t.transposed ? (Math.min(end, layout.linears[l].nIn) - lo + 1) * t.stride : (end - lo) * (t.stride + 1);
        accFloats = Math.max(accFloats, acc);
        left -= cost;
        target = Math.max(smallest, left / threads);
        lo = end;
        cost = 0;
      }
    }
  });
  const firstLayerBounds: number[] = [];
  if (storage.linears[0].transposed) {
    for (const s of slices) if (s.layer === 0) firstLayerBounds.push(Math.min(s.lo, layout.nIn));
    firstLayerBounds.push(layout.nIn);
  }
  // the costliest first (a stable sort: equal costs keep the layers' order)
  slices.sort((a, b) => b.cost - a.cost);
  return { slices, firstLayerBounds, accFloats };
}

/**
 * The share of rows whose input k is not zero, from up to `sample` rows spread over the split
 * (the slices' cost model; an estimate is enough).   x: [n, nIn] -> [nIn]
 */
export function inputDensity(x: Float32Array, n: number, nIn: number, sample = 2000): Float64Array {
  const d = new Float64Array(nIn);
  const rows = Math.min(n, sample);
  if (rows === 0) return d.fill(1);
  for (let s = 0; s < rows; s++) {
    const at = Math.floor((s * n) / rows) * nIn;
    for (let k = 0; k < nIn; k++) if (x[at + k] !== 0) d[k]++;
  }
  for (let k = 0; k < nIn; k++) d[k] /= rows;
  return d;
}
