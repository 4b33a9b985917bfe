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
