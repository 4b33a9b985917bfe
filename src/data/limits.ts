import { MAX_ITEMS } from '../engine/step-control.js';
import { EVAL_ITEM_ROWS } from '../engine/work-plan.js';

/**
 * Caps on what a data file may declare, shared by the loaders. Sizes in a file are never trusted
 * before they are checked against the bytes actually present; these caps catch what is well-formed
 * but absurd, before the trainer would try to build a model around it.
 */

/** The most classes a label file may name (largest label + 1); IDX labels are bytes, so at most 256. */
export const MAX_CLASSES = 65_536;

/** The longest Python integer a pickle may spell out (LONG1/LONG4/INT/LONG), in bytes or digits. */
export const MAX_INT_BYTES = 64;

/** The longest string the pickle reader will turn into JavaScript text (names, dtype codes). */
export const MAX_NAME_CHARS = 1024;

/**
 * The shared memory every dataset is decoded into: one wasm32 memory (src/engine/arena.ts), which
 * can never grow past 4 GiB. A file whose values could not fit it is refused before it is read.
 */
export const SHARED_MEMORY_BYTES = 4 * 2 ** 30;

/**
 * The most values an IDX file may declare: each becomes a 4-byte float32 pixel or int32 label in the
 * shared memory, so more than a quarter of it could never be held.
 */
export const MAX_IDX_VALUES = SHARED_MEMORY_BYTES / 4;

/**
 * The most bytes a pickle may hold once gunzipped: 1 GiB, five times the lesson's mnist.pkl.gz (220 MB).
 * A pickle declares no total size, so this is the only bound on how far a .pkl.gz is inflated, and
 * what a crafted one costs before it is refused (about 4 s); a dataset larger than this comes as IDX
 * files, whose header says how much is coming.
 */
export const MAX_PICKLE_BYTES = 2 ** 30;

/** The most rows one split may have: the engine evaluates a split in at most MAX_ITEMS items of EVAL_ITEM_ROWS rows. */
export const MAX_SPLIT_ROWS = MAX_ITEMS * EVAL_ITEM_ROWS;
