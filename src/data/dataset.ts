import { DataError } from '../errors.js';
import { MAX_SPLIT_ROWS } from './limits.js';

/** One split of a classification dataset, as the kernels read it. */
export interface Split {
  /** x: [n, nIn] float32 pixels, row-major */
  x: Float32Array;
  /** y: [n] class ids in [0, nClasses) */
  y: Int32Array;
  n: number;
  nIn: number;
  /**
   * Optional, for kernels that walk only the non-zero inputs: each row's non-zero inputs, listed
   * once (data/non-zero-index.ts; the trainer builds it for the training split of the wasm kernel).
   * It must describe x as it is: a kernel trusts it. Kernels that have no use for it ignore it.
   */
  nonZero?: NonZeroIndex;
}

/** Row i's non-zero inputs (any bit set: -0 and NaN included) are index[start[i] .. start[i + 1]), k ascending. */
export interface NonZeroIndex {
  /** start: [n + 1] */
  start: Int32Array;
  /** index: [start[n]] input (pixel) ids k */
  index: Int32Array;
  /** value: [start[n]] the inputs' values x[i, index[t]] (bit for bit) */
  value: Float32Array;
}

export interface Dataset {
  train: Split;
  valid: Split;
  /** The held-out test split, where the source has one apart from train and valid. */
  test?: Split;
  nIn: number;
  nClasses: number;
  /** Where the data came from, for logs and checkpoints. */
  source: string;
}

/**
 * Where a loader puts the arrays it decodes. The trainer passes its shared arena, so the dataset is
 * decoded once, straight into memory every worker can read.
 */
export interface Allocator {
  f32(length: number): Float32Array;
  i32(length: number): Int32Array;
}

/** Plain (unshared) arrays, for code that trains in one thread. */
export const heapAllocator: Allocator = {
  f32: (n) => new Float32Array(n),
  i32: (n) => new Int32Array(n),
};

/**
 * `allocate()`, with a RangeError (the shared memory cannot grow past 4 GiB, or the heap is out of
 * room) turned into a DataError naming the file whose `what` did not fit.
 */
export function allocOrRefuse<T>(allocate: () => T, file: string, what: string): T {
  try {
    return allocate();
  } catch (e) {
    if (e instanceof RangeError) throw new DataError(file, `${what} do not fit in memory (${e.message})`);
    throw e;
  }
}

/** A split must have rows (an empty one evaluates to NaN), and no more than the engine can evaluate. */
export function checkSplitRows(n: number, name: string, file: string): void {
  if (n === 0) throw new DataError(file, `the ${name} split has no rows`);
  if (n > MAX_SPLIT_ROWS) throw new DataError(file, `the ${name} split has ${n} rows, more than the ${MAX_SPLIT_ROWS} the trainer can evaluate`);
}

/** A split made of rows [lo, hi) of another, sharing its memory. */
export function sliceSplit(s: Split, lo: number, hi: number): Split {
  return { x: s.x.subarray(lo * s.nIn, hi * s.nIn), y: s.y.subarray(lo, hi), n: hi - lo, nIn: s.nIn };
}

/** The first n rows (for quick runs on a subset). */
export function headSplit(s: Split, n: number): Split {
  return sliceSplit(s, 0, Math.min(n, s.n));
}

/** The dataset with only the first trainRows training and validRows validation rows (each: all when not given). */
export function firstRows(data: Dataset, trainRows?: number, validRows?: number): Dataset {
  return {
    ...data,
    train: trainRows ? headSplit(data.train, trainRows) : data.train,
    valid: validRows ? headSplit(data.valid, validRows) : data.valid,
  };
}
