import { DataError } from '../errors.js';

/** What the system's error codes for a failed write mean, in words. */
const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is used up',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'the operation is not permitted',
  ENAMETOOLONG: 'the file name is too long',
  ENOENT: 'its folder does not exist',
  ENOTDIR: 'a part of its path is not a folder',
  EISDIR: 'it is a folder',
  EIO: 'an input/output error on the device',
  EFBIG: 'the file would be too large',
  EMFILE: 'too many open files',
};

/**
 * A write that failed, as one line naming the file: "FILE: could not write it: no space left on the
 * device". The file as it was before is kept (writes go to a temporary file first, or append).
 */
export function writeFailure(path: string, e: unknown): DataError {
  const code = (e as NodeJS.ErrnoException)?.code;
  const reason = (code && REASONS[code]) ?? (code ? `the system said ${code}` : String(e));
  return new DataError(path, `could not write it: ${reason}`);
}
