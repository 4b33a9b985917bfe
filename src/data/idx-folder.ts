import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { checkSplitRows, heapAllocator, sliceSplit, type Allocator, type Dataset, type Split } from './dataset.js';
import { loadIdxSplit } from './idx-split.js';
import { checkLabels, classCount } from './labels.js';
import { MAX_CLASSES } from './limits.js';
import { isFolder } from './read-file.js';

/**
 * Where the validation rows come from. 'train-tail': the last rows of the training files (MNIST's
 * classic 50,000 / 10,000). 'test': the t10k files, training on every training row.
 */
export const VALID_SPLITS = ['train-tail', 'test'] as const;
export type ValidSplit = (typeof VALID_SPLITS)[number];

export interface IdxFolderOptions {
  alloc?: Allocator;
  validSplit?: ValidSplit;
  /** Also load the t10k files as the test split. */
  withTest?: boolean;
}

/** The four files of MNIST and Fashion-MNIST, each raw or gzipped. */
export const IDX_FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

/** The usual validation size: the last 10,000 of MNIST's 60,000 training rows. */
export const VALID_ROWS = 10_000;

/**
 * How many of `n` training rows validate under 'train-tail': 10,000, but never more than a fifth,
 * so a small training set (≤ 50,000 rows; the fixtures have 125) keeps four fifths for training
 * rather than being swallowed whole. For MNIST's 60,000 rows this is the classic 10,000.
 */
export function tailValidRows(n: number): number {
  return Math.min(VALID_ROWS, Math.floor(n / 5));
}

/** A folder of IDX files (MNIST, Fashion-MNIST). Pixels are k/255; nIn and nClasses come from the data. */
export function loadIdxFolder(dir: string, opts: IdxFolderOptions = {}): Dataset {
  const alloc = opts.alloc ?? heapAllocator;
  const validSplit = opts.validSplit ?? 'train-tail';
  checkFolder(dir);
  // All four must be there, even when the t10k pair is not read: a partial download should say so.
  const files = {
    trainImages: findFile(dir, IDX_FILES.trainImages),
    trainLabels: findFile(dir, IDX_FILES.trainLabels),
    testImages: findFile(dir, IDX_FILES.testImages),
    testLabels: findFile(dir, IDX_FILES.testLabels),
  };

  const all = loadIdxSplit(files.trainImages, files.trainLabels, alloc); // x: [n, rows*cols], y: [n]
  if (all.n === 0) throw new DataError(files.trainImages, 'holds no images');
  const t10k =
    validSplit === 'test' || opts.withTest ? loadIdxSplit(files.testImages, files.testLabels, alloc) : undefined;
  // Every split a run uses needs rows: an empty one validates (or tests) to NaN.
  if (t10k && t10k.n === 0) throw new DataError(files.testImages, 'holds no images');
  if (t10k && t10k.nIn !== all.nIn) {
    throw new DataError(files.testImages, `images have ${t10k.nIn} pixels but the training images have ${all.nIn}`);
  }

  let train: Split;
  let valid: Split;
  if (validSplit === 'test') {
    train = all;
    valid = t10k as Split;
  } else {
    const nValid = tailValidRows(all.n);
    if (nValid === 0) {
      throw new DataError(files.trainImages, `only ${all.n} training images: too few to set a fifth aside for validation`);
    }
    train = sliceSplit(all, 0, all.n - nValid);
    valid = sliceSplit(all, all.n - nValid, all.n);
  }

  checkSplitRows(train.n, 'train', files.trainImages);
  checkSplitRows(valid.n, 'valid', validSplit === 'test' ? files.testImages : files.trainImages);
  if (opts.withTest && t10k) checkSplitRows(t10k.n, 'test', files.testImages);

  // Classes are what the training labels name; the other splits must stay inside that range.
  const nClasses = classCount(train.y);
  if (nClasses > MAX_CLASSES) throw new DataError(files.trainLabels, `${nClasses} classes is more than ${MAX_CLASSES}`);
  checkLabels(all.y, nClasses, files.trainLabels); // the whole file, so rows are numbered as in it
  if (t10k) checkLabels(t10k.y, nClasses, files.testLabels);

  return {
    train,
    valid,
    // With validSplit 'test' the t10k rows already validate; the test split is the same rows.
    test: opts.withTest ? t10k : undefined,
    nIn: all.nIn,
    nClasses,
    source: dir,
  };
}

function checkFolder(dir: string): void {
  if (!isFolder(dir, 'no such folder')) throw new DataError(dir, 'is not a folder (expected a folder of IDX files)');
}

/** `name` or `name.gz` in `dir`; the raw file wins when both are there (no gunzip needed). */
function findFile(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  throw new DataError(dir, `missing ${name} (or ${name}.gz); an IDX folder needs ${Object.values(IDX_FILES).join(', ')}`);
}
