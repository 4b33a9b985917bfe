import { readFileSync, statSync } from 'node:fs';
import { ungzip } from 'pako';
import { DataError } from '../errors.js';

const GZIP_MAGIC = [0x1f, 0x8b];

/** Whether a file's bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

/**
 * A data file's bytes, gunzipped when the file is gzip. A name ending in .gz that is not gzip, a
 * corrupt or truncated stream, or a missing file is a DataError naming the file.
 */
export function readDataFile(file: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    if (statSync(file).isDirectory()) throw new DataError(file, 'is a folder, expected a file');
    bytes = readFileSync(file);
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`);
  }
  if (isGzip(bytes)) {
    try {
      return ungzip(bytes);
    } catch (e) {
      throw new DataError(file, `corrupt or truncated gzip data (${e instanceof Error ? e.message : String(e)})`);
    }
  }
  if (file.endsWith('.gz')) throw new DataError(file, 'named .gz but is not gzip data');
  return bytes;
}
