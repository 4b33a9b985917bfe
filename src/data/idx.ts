import { DataError } from '../errors.js';
import { allocOrRefuse, type Allocator } from './dataset.js';
import { MAX_IDX_VALUES, SHARED_MEMORY_BYTES } from './limits.js';
import { gib, type ReadLimits } from './read-file.js';

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

/** An IDX header: the dimensions, how many bytes it takes, and how many values it declares. */
interface IdxHeader {
  dims: number[];
  headerBytes: number;
  count: number;
}

/** The longest IDX header these datasets use: the magic number and three dimensions. */
const MAX_HEADER_BYTES = 4 + 4 * 3;

/**
 * The header at the start of `bytes`, checked; undefined when `bytes` ends before the header does.
 * A declared count that the shared memory could not hold is refused here, before anything is read
 * or allocated for it.
 */
function readIdxHeader(bytes: Uint8Array, file: string): IdxHeader | undefined {
  if (bytes.length < 4) return undefined;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(file, `not an IDX file (magic number 0x${hex(bytes, 0, 4)}, expected 0x0000080N)`);
  }
  if (bytes[2] !== UBYTE) {
    throw new DataError(file, `unsupported IDX element type 0x${hex(bytes, 2, 1)} (only unsigned bytes, 0x08)`);
  }
  const ndims = bytes[3];
  if (ndims < 1 || ndims > 3) throw new DataError(file, `unsupported IDX dimension count ${ndims}`);
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < ndims; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  if (count > MAX_IDX_VALUES) {
    throw new DataError(
      file,
      `the header declares ${dims.join('x')} values, more than the ${MAX_IDX_VALUES} that fit the trainer's ${gib(SHARED_MEMORY_BYTES)} of shared memory (4 bytes each once decoded)`,
    );
  }
  return { dims, headerBytes, count };
}

/**
 * How much of an IDX file to read: what its header declares, so that a raw file longer than that is
 * refused unread and a .gz stops inflating at the first byte past it.
 */
export function idxReadLimits(file: string): ReadLimits {
  return {
    maxBytes: MAX_HEADER_BYTES + MAX_IDX_VALUES,
    maxWhat: `the ${MAX_HEADER_BYTES + MAX_IDX_VALUES} bytes an IDX file of at most ${MAX_IDX_VALUES} values may hold`,
    headBytes: MAX_HEADER_BYTES,
    declared: (head) => {
      const h = readIdxHeader(head, file);
      if (h === undefined) return undefined; // too short for a header: parseIdx says so
      const bytes = h.headerBytes + h.count;
      return { bytes, what: `the ${bytes} bytes its IDX header declares (${h.dims.join('x')} values)` };
    },
  };
}

export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new DataError(file, `too short for an IDX file (${bytes.length} bytes)`);
  const header = readIdxHeader(bytes, file);
  if (header === undefined) throw new DataError(file, `truncated IDX header (${bytes.length} bytes)`);
  const { dims, headerBytes, count } = header;
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
  const x = allocOrRefuse(() => alloc.f32(n * nIn), file, `${a.dims.join('x')} pixels as float32`);
  const src = a.data;
  for (let i = 0; i < src.length; i++) x[i] = src[i] / 255;
  return { x, n, nIn };
}

/** Labels [n] as int32 class ids. */
export function idxLabels(bytes: Uint8Array, file: string, alloc: Allocator): Int32Array {
  const a = parseIdx(bytes, file);
  if (a.dims.length !== 1) throw new DataError(file, `expected labels [n], found dimensions ${a.dims.join('x')}`);
  const y = allocOrRefuse(() => alloc.i32(a.dims[0]), file, `${a.dims[0]} labels as int32`);
  y.set(a.data);
  return y;
}

function hex(b: Uint8Array, from: number, n: number): string {
  return Array.from(b.subarray(from, from + n), (v) => v.toString(16).padStart(2, '0')).join('');
}
