import { DataError } from '../errors.js';
import type { Allocator } from './dataset.js';

/**
 * The IDX format (MNIST, Fashion-MNIST): a 4-byte magic number 0x00 0x00 <type> <ndims>, then ndims
 * big-endian uint32 dimensions, then the values row-major. Only unsigned bytes (type 0x08) are used
 * by these datasets.
 */
const UBYTE = 0x08;

export interface IdxArray {
  dims: number[];
  /** the values, a view into the file's bytes */
  data: Uint8Array;
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `too short for an IDX file (${bytes.length} bytes)`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(file, `not an IDX file (magic number 0x${hex(bytes, 0, 4)}, expected 0x0000080N)`);
  }
  if (bytes[2] !== UBYTE) {
    throw new DataError(file, `unsupported IDX element type 0x${hex(bytes, 2, 1)} (only unsigned bytes, 0x08)`);
  }
  const ndims = bytes[3];
  if (ndims < 1 || ndims > 3) throw new DataError(file, `unsupported IDX dimension count ${ndims}`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new DataError(file, `truncated IDX header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = bytes.length - headerBytes;
  if (have < count) {
    throw new DataError(file, `truncated: the header declares ${dims.join('x')} values (${count} bytes) but the file holds ${have}`);
  }
  if (have > count) {
    throw new DataError(file, `${have - count} unexpected bytes after the ${dims.join('x')} values the header declares`);
  }
  return { dims, data: bytes.subarray(headerBytes) };
}

/** Images [n, rows, cols] as float32 pixels k/255 in [0, 1], one row of rows*cols per image. */
export function idxImages(
  bytes: Uint8Array,
  file: string,
  alloc: Allocator,
): { x: Float32Array; n: number; nIn: number } {
  const a = parseIdx(bytes, file);
  if (a.dims.length !== 3) throw new DataError(file, `expected images [n, rows, cols], found dimensions ${a.dims.join('x')}`);
  const [n, rows, cols] = a.dims;
  const nIn = rows * cols;
  if (nIn === 0) throw new DataError(file, 'images of size 0');
  const x = alloc.f32(n * nIn);
  const src = a.data;
  for (let i = 0; i < src.length; i++) x[i] = src[i] / 255;
  return { x, n, nIn };
}

/** Labels [n] as int32 class ids. */
export function idxLabels(bytes: Uint8Array, file: string, alloc: Allocator): Int32Array {
  const a = parseIdx(bytes, file);
  if (a.dims.length !== 1) throw new DataError(file, `expected labels [n], found dimensions ${a.dims.join('x')}`);
  const y = alloc.i32(a.dims[0]);
  y.set(a.data);
  return y;
}

function hex(b: Uint8Array, from: number, n: number): string {
  return Array.from(b.subarray(from, from + n), (v) => v.toString(16).padStart(2, '0')).join('');
}
