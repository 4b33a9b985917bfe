/**
 * How a batch is cut into chunks. The cut depends only on the batch size, never on the thread count:
 * each chunk's gradient is then the same whichever thread computes it, and summing the chunks in
 * chunk order gives the same bytes for 1 thread or 64.
 */

/**
 * Rows a chunk aims at. A chunk has fixed costs (the kernel's transposes of W1, the gradient slot the
 * update reads back), so larger chunks are cheaper per row: 64-row chunks ran bs 512 about 20-40%
 * faster than 32-row ones on one thread. Batches from 2 * MIN_SPLIT_ROWS rows up are still cut in at
 * least two, so that two threads share even the lesson's bs 50.
 */
export const CHUNK_ROWS = 64;
/** A batch of at least twice this many rows makes at least two chunks. */
export const MIN_SPLIT_ROWS = 16;
/** At most this many chunks (and gradient slots): bounds memory for very large batches. */
export const MAX_CHUNKS = 64;
/** Rows per evaluation chunk (evaluation keeps no gradients, so chunks can be larger). */
export const EVAL_CHUNK_ROWS = 500;

/** How many chunks a batch of `batchSize` rows is cut into: bs 50 -> 2 of 25, bs 512 -> 8 of 64. */
export function chunkCount(batchSize: number): number {
  const atLeast = batchSize >= 2 * MIN_SPLIT_ROWS ? 2 : 1;
  return Math.max(atLeast, Math.min(MAX_CHUNKS, Math.ceil(batchSize / CHUNK_ROWS)));
}

/** Rows [lo, hi) of chunk c when `rows` rows are cut into n near-equal chunks. */
export function chunkRange(rows: number, n: number, c: number): [number, number] {
  return [chunkStart(rows, n, c), chunkStart(rows, n, c + 1)];
}

/** The first row of chunk c (c = n: the end) when `rows` rows are cut into n near-equal chunks. */
export function chunkStart(rows: number, n: number, c: number): number {
  return Math.floor((c * rows) / n);
}

/** The largest chunk a batch of `batchSize` rows can have. */
export function maxChunkRows(batchSize: number): number {
  return Math.ceil(batchSize / chunkCount(batchSize));
}

/** The evaluation chunks of a split of `rows` rows. */
export function evalChunkCount(rows: number): number {
  return Math.max(1, Math.ceil(rows / EVAL_CHUNK_ROWS));
}
