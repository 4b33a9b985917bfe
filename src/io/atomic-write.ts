import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFailure } from './write-failure.js';

/** A name stays within the 255 bytes most file systems allow, with room for the temporary suffix. */
const MAX_TEMP_STEM = 200;

/**
 * Writes a file so that a reader only ever sees the old file or the whole new one: the bytes go to
 * a temporary file in the same folder, are flushed to disk, and the temporary file is renamed over
 * the target; then the folder is flushed, so that the new name survives a power cut too. If
 * anything fails, the temporary file is removed, the old file is left as it was, and the failure is
 * one DataError naming the file (a full disk, a read-only file system, a name too long, ...).
 */
export function atomicWrite(path: string, bytes: Uint8Array): void {
  // the temporary name is the target's, cut short if need be: a long target name must fail as itself
  const tmp = join(dirname(path), `.${basename(path).slice(0, MAX_TEMP_STEM)}.${process.pid}.tmp`);
  let fd = -1;
  try {
    fd = openSync(tmp, 'w');
    for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (e) {
    // the clean-up is best effort: its own failure must not hide the first one
    try {
      if (fd >= 0) closeSync(fd);
      rmSync(tmp, { force: true });
    } catch {
      // the temporary file stays; the message names the target
    }
    throw writeFailure(path, e);
  }
  syncFolder(dirname(path));
}

/**
 * Flushes a folder's entries (the rename) to disk. Some file systems cannot fsync a folder (EINVAL,
 * ENOTSUP, or EISDIR on open): the data is on disk already, so that is no failure.
 */
function syncFolder(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'EACCES') throw writeFailure(dir, e);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
