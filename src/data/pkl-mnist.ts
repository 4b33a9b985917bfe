/**
 * The lesson's mnist.pkl.gz: a gzipped pickle of ((x_train, y_train), (x_valid, y_valid),
 * (x_test, y_test)), x float [n, 784] with pixels k/256, y int64 [n] (50,000 / 10,000 / 10,000 rows).
 * Any pickle of that structure loads: float32/64 pixels, any integer labels, any row width.
 *
 * Memory: the decompressed pickle is read in place (arrays are views into it, and protocol 2's
 * latin-1 text is converted over itself), so the peak is that buffer plus the float32/int32 copies
 * the allocator hands out; the buffer is garbage once this returns.
 */
import { checkLabels, classCount } from './labels.js';
import { DataError } from '../errors.js';
import { allocOrRefuse, checkSplitRows, heapAllocator, type Allocator, type Dataset, type Split } from './dataset.js';
import type { ValidSplit } from './idx-folder.js';
import { MAX_CLASSES, MAX_PICKLE_BYTES } from './limits.js';
import { ndarrayFromPickle, readFloat32Into, readInt32Into, type NdArray } from './numpy-pickle.js';
import { checkPicklePrefix, parsePickle } from './pickle.js';
import { describe, isSequence, type PyValue } from './pickle-values.js';
import { gib, readDataFile, type ReadLimits } from './read-file.js';

export interface PklOptions {
  alloc?: Allocator;
  /** Also return the pickle's test split. */
  withTest?: boolean;
  /**
   * 'train-tail' (default): the pickle's own train and valid splits. 'test': validate on the pickle's
   * test split and train on its train and valid splits together (60,000 rows for MNIST), which is what
   * 'test' means for an IDX folder: all the training rows, validated on the held-out t10k rows.
   */
  validSplit?: ValidSplit;
}

const SPLITS = ['train', 'valid', 'test'] as const;
type SplitName = (typeof SPLITS)[number];

/** One (x, y) pair of the pickle, checked. */
interface Part {
  name: SplitName;
  x: NdArray; // [n, nIn] float
  y: NdArray; // [n] int
  n: number;
}

export function loadPklDataset(file: string, opts: PklOptions = {}): Dataset {
  return loadPklBytes(readDataFile(file, pickleReadLimits(file)), file, opts);
}

/** How many first bytes of a pickle are read for checkPicklePrefix before the rest is. */
const PICKLE_HEAD_BYTES = 1 << 16;

/**
 * How much of a pickle to read. A pickle declares no total size, so a .pkl.gz is bounded only by
 * MAX_PICKLE_BYTES; but its first bytes are parsed as soon as they are out, so that one which is no
 * pickle (a gzip bomb of zeros) or names a refused global is refused before it inflates any further.
 */
export function pickleReadLimits(file: string, checkHead: (head: Uint8Array) => void = (head) => checkPicklePrefix(head, file)): ReadLimits {
  return {
    maxBytes: MAX_PICKLE_BYTES,
    maxWhat: `${gib(MAX_PICKLE_BYTES)}, the most a pickle may hold (a larger dataset comes as IDX files)`,
    headBytes: PICKLE_HEAD_BYTES,
    declared: (head) => {
      checkHead(head);
      return undefined;
    },
  };
}

/** As loadPklDataset, from the (decompressed) bytes; they are overwritten, so pass a buffer you own. */
export function loadPklBytes(bytes: Uint8Array, file: string, opts: PklOptions = {}): Dataset {
  const alloc = opts.alloc ?? heapAllocator;
  const root = parsePickle(bytes, file, { mayOverwrite: true });
  const [train, valid, test] = parts(root, file);
  const nIn = train.x.shape[1];

  // Where each split's rows come from; see PklOptions.validSplit.
  const byTest = opts.validSplit === 'test';
  const uses = { train: byTest ? [train, valid] : [train], valid: byTest ? [test] : [valid], test: opts.withTest ? [test] : [] };
  // Every split a run uses needs rows, and no more than the engine can take; checked before any is copied.
  for (const ps of Object.values(uses)) if (ps.length > 0) checkSplitRows(rows(ps), ps.map((p) => p.name).join(' + '), file);
  const trainSplit = materialise(uses.train, nIn, alloc, file);
  const validSplit = materialise(uses.valid, nIn, alloc, file);
  const testSplit = !opts.withTest ? undefined : byTest ? validSplit : materialise(uses.test, nIn, alloc, file);

  // Classes are what the training labels name; every split must stay inside that range.
  const nClasses = classCount(trainSplit.split.y);
  if (nClasses > MAX_CLASSES) throw new DataError(file, `${nClasses} classes is more than ${MAX_CLASSES}`);
  for (const s of [trainSplit, validSplit, testSplit]) if (s) checkSplitLabels(s, nClasses, file);

  return { train: trainSplit.split, valid: validSplit.split, test: testSplit?.split, nIn, nClasses, source: file };
}

/** The three (x, y) pairs, with their shapes and dtypes checked against each other. */
function parts(root: PyValue, file: string): Part[] {
  const fail: (problem: string) => never = (problem) => {
    throw new DataError(file, problem);
  };
  const expected = 'expected ((x_train, y_train), (x_valid, y_valid), (x_test, y_test))';
  if (!isSequence(root) || root.items.length !== 3) return fail(`the pickle holds ${describe(root)}; ${expected}`);
  const splits = root.items;
  const out = SPLITS.map((name, i): Part => {
    const pair = splits[i];
    if (!isSequence(pair) || pair.items.length !== 2) fail(`the ${name} split is ${describe(pair)}, not an (x, y) pair; ${expected}`);
    const x = ndarrayFromPickle(pair.items[0], file, `x_${name}`);
    const y = ndarrayFromPickle(pair.items[1], file, `y_${name}`);
    if (x.shape.length !== 2) fail(`x_${name} has shape [${x.shape.join(', ')}], expected 2-D [rows, pixels]`);
    if (y.shape.length !== 1) fail(`y_${name} has shape [${y.shape.join(', ')}], expected 1-D [rows]`);
    if (x.shape[0] !== y.shape[0]) fail(`x_${name} has ${x.shape[0]} rows but y_${name} has ${y.shape[0]}`);
    if (x.dtype.kind !== 'f') fail(`x_${name} has dtype ${x.dtype.str}, expected float pixels`);
    if (y.dtype.kind === 'f') fail(`y_${name} has dtype ${y.dtype.str}, expected integer class labels`);
    return { name, x, y, n: x.shape[0] };
  });
  const nIn = out[0].x.shape[1];
  if (nIn === 0) fail('x_train has rows of 0 pixels');
  for (const p of out) {
    if (p.x.shape[1] !== nIn) fail(`x_${p.name} rows have ${p.x.shape[1]} pixels but x_train rows have ${nIn}`);
  }
  if (out[0].n === 0) fail('the train split has no rows');
  if (out[1].n === 0) fail('the valid split has no rows');
  return out;
}

/** A split made of parts, rows one after another, and which rows came from which part. */
interface Materialised {
  split: Split;
  segments: { part: Part; from: number }[];
}

function rows(ps: Part[]): number {
  return ps.reduce((s, p) => s + p.n, 0);
}

/** Converts parts into one float32/int32 split from `alloc`, refusing NaN and infinite pixels. */
function materialise(ps: Part[], nIn: number, alloc: Allocator, file: string): Materialised {
  const n = rows(ps);
  const names = (v: string): string => ps.map((p) => `${v}_${p.name}`).join(' + ');
  const x = allocOrRefuse(() => alloc.f32(n * nIn), file, `${names('x')} as ${n}x${nIn} float32 pixels`); // [n, nIn]
  const y = allocOrRefuse(() => alloc.i32(n), file, `${names('y')} as ${n} int32 labels`); // [n]
  const segments: Materialised['segments'] = [];
  let row = 0;
  for (const p of ps) {
    const xs = x.subarray(row * nIn, (row + p.n) * nIn); // [p.n, nIn]
    readFloat32Into(p.x, xs);
    checkFinite(xs, nIn, p, file);
    readInt32Into(p.y, y.subarray(row, row + p.n), file, `y_${p.name}`);
    segments.push({ part: p, from: row });
    row += p.n;
  }
  return { split: { x, y, n, nIn }, segments };
}

function checkFinite(xs: Float32Array, nIn: number, p: Part, file: string): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) {
      const wide = p.x.dtype.itemsize > 4 && !Number.isNaN(xs[i]) ? ' (after conversion to float32)' : '';
      throw new DataError(file, `x_${p.name}: pixel ${i % nIn} of row ${Math.floor(i / nIn)} is ${xs[i]}${wide}`);
    }
  }
}


/** Labels in [0, nClasses), reported by the pickle's own split name and row. */
function checkSplitLabels(m: Materialised, nClasses: number, file: string): void {
  for (const { part, from } of m.segments) checkLabels(m.split.y.subarray(from, from + part.n), nClasses, file, `y_${part.name}: `);
}
