import { readFileSync, statSync } from 'node:fs';
import { Inflate } from 'pako';
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
  if (isFolder(file, 'no such file')) throw new DataError(file, 'is a folder, expected a file');
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw cannotRead(file, e, 'no such file');
  }
  if (isGzip(bytes)) return gunzip(bytes, file);
  if (file.endsWith('.gz')) throw new DataError(file, 'named .gz but is not gzip data');
  return bytes;
}

/** Whether a path is a folder; a missing or unreadable path is a DataError (`missing` says what was expected). */
export function isFolder(path: string, missing: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch (e) {
    throw cannotRead(path, e, missing);
  }
}

function cannotRead(path: string, e: unknown, missing: string): DataError {
  const code = (e as NodeJS.ErrnoException).code;
  return new DataError(path, code === 'ENOENT' ? missing : `cannot read (${code ?? String(e)})`);
}

/** deflate never expands more than about 1032:1, so a larger declared size is a lie. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Gunzips into one buffer of the size the gzip trailer declares (ISIZE, the size mod 2^32), so the
 * peak is the compressed bytes plus the result, not the result twice over (chunks, then their join).
 * When the trailer cannot be trusted (past 4 GiB, several members, a lie), the output is gathered
 * in chunks instead. Corrupt or truncated data is a DataError naming the file.
 */
function gunzip(bytes: Uint8Array, file: string): Uint8Array {
  const declared = bytes.length >= 18 ? new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true) : 0;
  let out: Uint8Array | null = declared > 0 && declared <= bytes.length * MAX_DEFLATE_RATIO ? new Uint8Array(declared) : null;
  const chunks: Uint8Array[] = [];
  let length = 0;
  const inflate = new Inflate();
  inflate.onData = (chunk) => {
    if (out !== null && length + chunk.length <= out.length) out.set(chunk, length);
    else {
      // The trailer was wrong: keep what was written so far and go on in chunks.
      if (out !== null) chunks.push(out.subarray(0, length));
      out = null;
      chunks.push(chunk.slice());
    }
    length += chunk.length;
  };
  inflate.onEnd = () => {};
  inflate.push(bytes, true);
  if (inflate.err || !inflate.ended) {
    throw new DataError(file, `corrupt or truncated gzip data (${inflate.msg || 'the stream ends early'})`);
  }
  if (out !== null && length === out.length) return out;
  if (out !== null) return out.subarray(0, length);
  const joined = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.length;
  }
  return joined;
}
