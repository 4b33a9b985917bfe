/**
 * numpy arrays from the inert values the safe pickle reader builds. numpy pickles an array as either
 *
 *   _reconstruct(ndarray, (0,), b'b')  then BUILD with (version, shape, dtype, is_fortran, rawdata)
 *   _frombuffer(rawdata, dtype, shape, order)                  (protocol 5)
 *
 * and a dtype as `dtype('f4', False, True)` then BUILD with (3, '<', None, None, None, -1, -1, 0),
 * whose second item is the byte order. This file checks those shapes and sizes and hands back the
 * raw bytes with their dtype; nothing is copied until a caller asks for float32 or int32 values.
 */
import { DataError } from '../errors.js';
import { heapAllocator, type Allocator } from './dataset.js';
import { latin1FromUtf8, latin1Text, strText } from './pickle-text.js';
import { describe, isCallOf, isInt, type PyCall, type PyValue } from './pickle-values.js';

export interface DType {
  /** float, signed or unsigned integer */
  kind: 'f' | 'i' | 'u';
  itemsize: 1 | 2 | 4 | 8;
  littleEndian: boolean;
  /** numpy's spelling, e.g. '<f4', '|u1' */
  str: string;
}

export interface NdArray {
  dtype: DType;
  shape: number[];
  /** elements stored column-major (Fortran order) rather than row-major */
  fortran: boolean;
  /** the elements' bytes, size * itemsize of them (usually a view into the pickle's bytes) */
  data: Uint8Array;
  /** the number of elements, the product of the shape */
  size: number;
}

/**
 * The numpy array `v` describes. `what` names it in messages ("x_train"); every problem is a
 * DataError naming `file`.
 */
export function ndarrayFromPickle(v: PyValue, file: string, what: string): NdArray {
  const fail = (problem: string): never => {
    throw new DataError(file, `${what}: ${problem}`);
  };
  if (isCallOf(v, '_reconstruct')) return fromReconstruct(v, fail);
  if (isCallOf(v, '_frombuffer')) return fromFrombuffer(v, fail);
  return fail(`expected a numpy array, found ${describe(v)}`);
}

type Fail = (problem: string) => never;

function fromReconstruct(call: PyCall, fail: Fail): NdArray {
  const cls = call.args[0];
  if (cls === null || typeof cls !== 'object' || cls.kind !== 'global' || cls.name !== 'ndarray') {
    fail(`_reconstruct of ${describe(cls ?? null)}, expected numpy.ndarray`);
  }
  const state = call.state;
  if (state === undefined) return fail('a numpy array without its state (no BUILD)');
  if (state === null || typeof state !== 'object' || state.kind !== 'tuple') {
    return fail(`array state is ${describe(state)}, expected a tuple`);
  }
  // (version, shape, dtype, is_fortran, rawdata); numpy before 1.0 left out the version
  const items = state.items.length === 4 ? [1, ...state.items] : state.items;
  if (items.length !== 5) fail(`array state has ${state.items.length} items, expected 5`);
  const [, shapeV, dtypeV, fortranV, rawV] = items;
  const dtype = dtypeFrom(dtypeV, fail);
  const shape = shapeFrom(shapeV, fail);
  if (typeof fortranV !== 'boolean' && fortranV !== 0 && fortranV !== 1) {
    fail(`is_fortran is ${describe(fortranV)}, expected a bool`);
  }
  return checked(dtype, shape, Boolean(fortranV), rawBytes(rawV, fail), fail);
}

function fromFrombuffer(call: PyCall, fail: Fail): NdArray {
  // _frombuffer(buf, dtype, shape, order[, axis_order])
  const [bufV, dtypeV, shapeV, orderV, axisOrderV] = call.args;
  if (call.args.length < 4 || call.args.length > 5) fail(`_frombuffer with ${call.args.length} arguments, expected 4`);
  if (call.state !== undefined) fail('unexpected state (BUILD) on a _frombuffer array');
  if (axisOrderV !== undefined && axisOrderV !== null) fail('arrays with a permuted axis order are not supported');
  const order = textOf(orderV, fail);
  if (order !== 'C' && order !== 'F') fail(`array order '${order}' is not supported (only 'C' and 'F')`);
  return checked(dtypeFrom(dtypeV, fail), shapeFrom(shapeV, fail), order === 'F', rawBytes(bufV, fail), fail);
}

/** The byte count must be exactly what the shape and dtype need. */
function checked(dtype: DType, shape: number[], fortran: boolean, data: Uint8Array, fail: Fail): NdArray {
  let size = 1n;
  for (const d of shape) size *= BigInt(d);
  const need = size * BigInt(dtype.itemsize);
  if (need !== BigInt(data.length)) {
    fail(`holds ${data.length} bytes of data but shape [${shape.join(', ')}] of ${dtype.str} needs ${need}`);
  }
  return { dtype, shape, fortran, data, size: Number(size) };
}

function shapeFrom(v: PyValue, fail: Fail): number[] {
  if (v === null || typeof v !== 'object' || v.kind !== 'tuple') return fail(`shape is ${describe(v)}, expected a tuple`);
  return v.items.map((d) => {
    if (typeof d !== 'number' || d < 0) return fail(`shape has ${describe(d)}, expected sizes >= 0`);
    return d;
  });
}

/** The array's bytes. A Python 2 str read as text (latin-1) is turned back into bytes, as numpy does. */
function rawBytes(v: PyValue, fail: Fail): Uint8Array {
  if (v !== null && typeof v === 'object') {
    if (v.kind === 'bytes') return v.data;
    if (v.kind === 'str') {
      if (v.encoding === 'latin1') return v.bytes;
      const out = new Uint8Array(v.bytes.length);
      return out.subarray(0, latin1FromUtf8(v.bytes, out, fail));
    }
    if (v.kind === 'list') fail('object arrays (dtype=object) are not supported');
  }
  return fail(`array data is ${describe(v)}, expected bytes`);
}

/** A str, or bytes (a Python 2 str), as text. */
function textOf(v: PyValue | undefined, fail: Fail): string {
  if (v !== null && v !== undefined && typeof v === 'object') {
    if (v.kind === 'str') return strText(v, fail);
    if (v.kind === 'bytes') return latin1Text(v.data);
  }
  return fail(`expected a string, found ${describe(v ?? null)}`);
}

// --- dtypes

const DTYPE_CODE = /^([<>|=]?)([fiu])(1|2|4|8)$/;

function dtypeFrom(v: PyValue, fail: Fail): DType {
  if (!isCallOf(v, 'dtype')) return fail(`dtype is ${describe(v)}, expected numpy.dtype(...)`);
  const code = textOf(v.args[0] ?? null, fail);
  const m = DTYPE_CODE.exec(code);
  if (!m || code.endsWith('f1') || code.endsWith('f2')) {
    return fail(`unsupported dtype '${code}' (only float32/64 and integer arrays are supported)`);
  }
  const kind = m[2] as DType['kind'];
  const itemsize = Number(m[3]) as DType['itemsize'];
  let order = m[1] || '=';
  const state = v.state;
  if (state !== undefined) {
    // (version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata])
    if (state === null || typeof state !== 'object' || state.kind !== 'tuple' || state.items.length < 5) {
      return fail(`dtype state is ${describe(state)}, expected a tuple of 8 or 9 items`);
    }
    const [version, byteorder, subarray, names, fields] = state.items;
    if (!isInt(version)) fail(`dtype state version is ${describe(version)}`);
    if (subarray !== null || names !== null || fields !== null) {
      fail('structured or sub-array dtypes are not supported');
    }
    order = textOf(byteorder, fail);
  }
  return { kind, itemsize, littleEndian: littleEndian(order, itemsize, fail), str: `${itemsize === 1 ? '|' : order}${kind}${itemsize}` };
}

function littleEndian(order: string, itemsize: number, fail: Fail): boolean {
  if (itemsize === 1 || order === '<') return true;
  if (order === '>') return false;
  // numpy always pickles '<' or '>' for multi-byte types; '=' (the writer's native order) only
  // comes from hand-made files, and every machine numpy runs on today is little-endian.
  if (order === '=') return true;
  return fail(`byte order '${order}' for a ${itemsize}-byte type (expected '<' or '>')`);
}

// --- values out

const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The elements as float32, row-major, into `dst` (length `a.size`). Integers convert by value. */
export function readFloat32Into(a: NdArray, dst: Float32Array): void {
  if (dst.length !== a.size) throw new RangeError(`destination holds ${dst.length} elements, array has ${a.size}`);
  const { data, dtype } = a;
  if (dtype.kind === 'f' && dtype.itemsize === 4 && dtype.littleEndian === HOST_LITTLE_ENDIAN && !a.fortran) {
    // the same bytes in the same order: one memcpy, whatever the source's alignment
    new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(data);
    return;
  }
  const get = elementReader(a);
  forEachElement(a, (src, i) => (dst[i] = get(src)));
}

/**
 * The elements as int32, row-major, into `dst` (length `a.size`). Only integer dtypes; a value that
 * does not fit in 32 bits is a DataError naming `file` and `what`.
 */
export function readInt32Into(a: NdArray, dst: Int32Array, file: string, what: string): void {
  if (dst.length !== a.size) throw new RangeError(`destination holds ${dst.length} elements, array has ${a.size}`);
  const { dtype, data } = a;
  if (dtype.kind === 'f') throw new DataError(file, `${what}: expected integers, found dtype ${dtype.str}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = dtype.littleEndian;
  const tooBig = (src: number, i: number): never => {
    const exact = dtype.itemsize === 8 ? (dtype.kind === 'i' ? view.getBigInt64(src * 8, le) : view.getBigUint64(src * 8, le)) : view.getUint32(src * 4, le);
    throw new DataError(file, `${what}: value ${exact} at element ${i} does not fit in a 32-bit integer`);
  };
  if (dtype.itemsize === 8) {
    // exact without BigInt: a value fits when the high word is the sign extension of the low word
    const signed = dtype.kind === 'i';
    forEachElement(a, (src, i) => {
      const lo = view.getInt32(src * 8 + (le ? 0 : 4), le);
      const hi = view.getInt32(src * 8 + (le ? 4 : 0), le);
      if (hi !== (signed ? lo >> 31 : 0) || (!signed && lo < 0)) tooBig(src, i);
      dst[i] = lo;
    });
  } else if (dtype.kind === 'u' && dtype.itemsize === 4) {
    forEachElement(a, (src, i) => {
      const v = view.getUint32(src * 4, le);
      if (v > 0x7fffffff) tooBig(src, i);
      dst[i] = v;
    });
  } else {
    const get = elementReader(a);
    forEachElement(a, (src, i) => (dst[i] = get(src)));
  }
}

/** A float32 copy, from `alloc` (shared memory when the trainer passes its arena). */
export function float32Copy(a: NdArray, alloc: Allocator = heapAllocator): Float32Array {
  const out = alloc.f32(a.size);
  readFloat32Into(a, out);
  return out;
}

/** An int32 copy, from `alloc`; see readInt32Into. */
export function int32Copy(a: NdArray, file: string, what: string, alloc: Allocator = heapAllocator): Int32Array {
  const out = alloc.i32(a.size);
  readInt32Into(a, out, file, what);
  return out;
}

/** Element `src` (in storage order) as a number; 64-bit integers beyond 2^53 round. */
function elementReader(a: NdArray): (src: number) => number {
  const { data, dtype } = a;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const le = dtype.littleEndian;
  switch (`${dtype.kind}${dtype.itemsize}`) {
    case 'f4':
      return (s) => view.getFloat32(s * 4, le);
    case 'f8':
      return (s) => view.getFloat64(s * 8, le);
    case 'i1':
      return (s) => view.getInt8(s);
    case 'u1':
      return (s) => data[s];
    case 'i2':
      return (s) => view.getInt16(s * 2, le);
    case 'u2':
      return (s) => view.getUint16(s * 2, le);
    case 'i4':
      return (s) => view.getInt32(s * 4, le);
    case 'u4':
      return (s) => view.getUint32(s * 4, le);
    case 'i8':
      return (s) => Number(view.getBigInt64(s * 8, le));
    case 'u8':
      return (s) => Number(view.getBigUint64(s * 8, le));
    default:
      throw new Error(`no reader for dtype ${dtype.str}`);
  }
}

/**
 * Visits every element as (index in storage, index in row-major order). Row-major storage maps one
 * to one; Fortran storage runs the first axis fastest, so the row-major index jumps by its stride.
 */
function forEachElement(a: NdArray, visit: (src: number, dst: number) => void): void {
  const n = a.size;
  if (!a.fortran || a.shape.length < 2) {
    for (let i = 0; i < n; i++) visit(i, i);
    return;
  }
  const { shape } = a;
  const nd = shape.length;
  const stride = new Array<number>(nd); // row-major strides, in elements
  stride[nd - 1] = 1;
  for (let d = nd - 2; d >= 0; d--) stride[d] = stride[d + 1] * shape[d + 1];
  const idx = new Array<number>(nd).fill(0);
  let dst = 0;
  for (let src = 0; src < n; src++) {
    visit(src, dst);
    for (let d = 0; d < nd; d++) {
      idx[d]++;
      dst += stride[d];
      if (idx[d] < shape[d]) break;
      dst -= stride[d] * shape[d];
      idx[d] = 0;
    }
  }
}
