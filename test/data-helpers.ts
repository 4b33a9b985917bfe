/**
 * Helpers for the data-loading tests: a pickle writer (so tests can build well-formed and malformed
 * pickles opcode by opcode, the way Python would, without running Python), scratch files, and a
 * check that an error is a DataError naming the right file.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '../src/errors.js';

export class PickleWriter {
  private readonly out: number[] = [];

  raw(...bytes: number[]): this {
    for (const b of bytes) this.out.push(b);
    return this;
  }

  rawBytes(b: Uint8Array): this {
    for (const v of b) this.out.push(v);
    return this;
  }

  proto(n: number): this {
    return this.raw(0x80, n);
  }

  /** GLOBAL 'module\nname\n' (protocols 0-3) */
  global(module: string, name: string): this {
    return this.raw(0x63).rawBytes(ascii(`${module}\n${name}\n`));
  }

  /** SHORT_BINUNICODE module, SHORT_BINUNICODE name, STACK_GLOBAL (protocol 4+) */
  stackGlobal(module: string, name: string): this {
    return this.str(module).str(name).raw(0x93);
  }

  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n); // BININT1
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 0xff, n >> 8); // BININT2
    return this.raw(0x4a).u32(n >>> 0); // BININT
  }

  /** SHORT_BINUNICODE (or BINUNICODE when long) */
  str(s: string): this {
    const b = new TextEncoder().encode(s);
    if (b.length < 256) return this.raw(0x8c, b.length).rawBytes(b);
    return this.raw(0x58).u32(b.length).rawBytes(b);
  }

  /** BINBYTES */
  bytes(b: Uint8Array): this {
    return this.raw(0x42).u32(b.length).rawBytes(b);
  }

  none(): this {
    return this.raw(0x4e);
  }

  bool(v: boolean): this {
    return this.raw(v ? 0x88 : 0x89);
  }

  mark(): this {
    return this.raw(0x28);
  }

  /** TUPLE (to the last MARK) */
  tuple(): this {
    return this.raw(0x74);
  }

  tupleN(n: 1 | 2 | 3): this {
    return this.raw(0x84 + n);
  }

  reduce(): this {
    return this.raw(0x52);
  }

  build(): this {
    return this.raw(0x62);
  }

  stop(): this {
    return this.raw(0x2e);
  }

  u32(n: number): this {
    return this.raw(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  /** A numpy array as ndarray.__reduce__ pickles it: _reconstruct(...) then BUILD with its state. */
  ndarray(a: ArraySpec): this {
    const [order, code] = [a.dtype[0], a.dtype.slice(1)];
    this.stackGlobal('numpy._core.multiarray', '_reconstruct')
      .stackGlobal('numpy', 'ndarray')
      .int(0)
      .tupleN(1)
      .raw(0x43, 1, 0x62) // SHORT_BINBYTES b'b'
      .tupleN(3)
      .reduce();
    this.mark().int(1).mark();
    for (const d of a.shape) this.int(d);
    this.tuple();
    this.stackGlobal('numpy', 'dtype').str(code).bool(false).bool(true).tupleN(3).reduce();
    this.mark().int(3).str(order).none().none().none().int(-1).int(-1).int(0).tuple().build();
    return this.bool(a.fortran ?? false).bytes(a.data).tuple().build();
  }

  /** ((x_train, y_train), (x_valid, y_valid), (x_test, y_test)) */
  dataset(splits: [ArraySpec, ArraySpec][]): this {
    this.proto(4).mark();
    for (const [x, y] of splits) this.ndarray(x).ndarray(y).tupleN(2);
    return this.tuple().stop();
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

export interface ArraySpec {
  /** numpy's spelling with the byte order first: '<f4', '<i8', '|u1', '>f8' */
  dtype: string;
  shape: number[];
  data: Uint8Array;
  fortran?: boolean;
}

export function f32Array(shape: number[], values: ArrayLike<number>): ArraySpec {
  return { dtype: '<f4', shape, data: new Uint8Array(Float32Array.from(values).buffer) };
}

export function f64Array(shape: number[], values: ArrayLike<number>): ArraySpec {
  return { dtype: '<f8', shape, data: new Uint8Array(Float64Array.from(values).buffer) };
}

export function i64Array(values: ArrayLike<number | bigint>): ArraySpec {
  return { dtype: '<i8', shape: [values.length], data: new Uint8Array(BigInt64Array.from(Array.from(values, BigInt)).buffer) };
}

/** A valid small dataset: split k has n[k] rows of w pixels (v/10) and labels i % 3. */
export function smallDataset(n: [number, number, number] = [4, 3, 2], w = 5): [ArraySpec, ArraySpec][] {
  return n.map((rows, k): [ArraySpec, ArraySpec] => [
    f32Array([rows, w], Array.from({ length: rows * w }, (_, v) => (k * 100 + v) / 10)),
    i64Array(Array.from({ length: rows }, (_, i) => i % 3)),
  ]);
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A fresh temporary folder for one test file's scratch files. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `mlp-${prefix}-`));
}

export function writeScratch(dir: string, name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * The DataError `fn` throws, checked to name `file` at the start of its message (the CLI prints it
 * as the whole error). Anything else thrown, or nothing, fails the test.
 */
export function dataError(fn: () => unknown, file: string): DataError {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  if (thrown === undefined) throw new Error(`expected a DataError about ${file}, but nothing was thrown`);
  if (!(thrown instanceof DataError)) throw thrown;
  if (!thrown.message.startsWith(`${file}: `)) {
    throw new Error(`DataError does not start with the file name ${file}: ${thrown.message}`);
  }
  return thrown;
}

/** The bytes of the first float32 (little-endian) equal to v. */
export function f32Bytes(v: number): Uint8Array {
  return new Uint8Array(Float32Array.of(v).buffer);
}

/** `bytes` with the one occurrence of `find` replaced by `replace` (same length); fails if not unique. */
export function replaceOnce(bytes: Uint8Array, find: Uint8Array, replace: Uint8Array): Uint8Array {
  const at = indexOf(bytes, find);
  if (at < 0 || indexOf(bytes, find, at + 1) >= 0) throw new Error('pattern not found exactly once');
  const out = bytes.slice();
  out.set(replace, at);
  return out;
}

export function indexOf(bytes: Uint8Array, find: Uint8Array, from = 0): number {
  outer: for (let i = from; i + find.length <= bytes.length; i++) {
    for (let j = 0; j < find.length; j++) if (bytes[i + j] !== find[j]) continue outer;
    return i;
  }
  return -1;
}
