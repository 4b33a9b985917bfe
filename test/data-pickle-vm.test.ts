import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { ndarrayFromPickle, float32Copy, int32Copy } from '../src/data/numpy-pickle.js';
import { parsePickle } from '../src/data/pickle.js';
import type { PyValue } from '../src/data/pickle-values.js';
import { ascii, dataError, PickleWriter, type ArraySpec } from './data-helpers.js';

const F = 'test.pkl';
const parse = (b: Uint8Array | number[]) => parsePickle(b instanceof Uint8Array ? b : Uint8Array.from(b), F);
const w = () => new PickleWriter();
/** the message of the DataError parsing `b` throws */
const refusal = (b: Uint8Array | number[]) => dataError(() => parse(b), F).message;

describe('values', () => {
  test('ints of every width, True/False/None', () => {
    const b = w().proto(2).mark().int(5).int(300).int(-7).raw(0x8a, 2, 0x00, 0xff).raw(0x8a, 0).none().bool(true).bool(false);
    b.raw(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1).tuple().stop(); // LONG1 2^64
    expect(parse(b.finish())).toEqual({ kind: 'tuple', items: [5, 300, -7, -256, 0, null, true, false, 2n ** 64n] });
  });

  test('protocol 0 text: INT, LONG, STRING escapes, UNICODE raw-unicode-escape, PUT/GET', () => {
    const text = "(I42\nI01\nI00\nL-12345678901234567890L\nS'a\\x00\\n\\'\\\\b\\101'\np0\nVx\\u005cy\\u0101\np1\ng0\nt.";
    const v = parse(ascii(text)) as { items: PyValue[] };
    expect(v.items.slice(0, 4)).toEqual([42, true, false, -12345678901234567890n]);
    expect(v.items[4]).toEqual({ kind: 'bytes', data: Uint8Array.of(0x61, 0, 0x0a, 0x27, 0x5c, 0x62, 0x41) });
    expect(v.items[5]).toEqual({ kind: 'str', encoding: 'utf8', bytes: new TextEncoder().encode('x\\y\u0101') });
    expect(v.items[6]).toBe(v.items[4]); // GET returns the memoized object itself
  });

  test('lists, dicts and every memo opcode', () => {
    const b = w().proto(4).mark().raw(0x5d, 0x94).mark().int(1).int(2).raw(0x65).int(3).raw(0x61); // [] MEMOIZE ( 1 2 APPENDS 3 APPEND
    b.raw(0x7d).mark().str('k').int(9).raw(0x75).raw(0x72, 7, 0, 0, 0); // {} ( 'k' 9 SETITEMS LONG_BINPUT 7
    b.raw(0x6a, 7, 0, 0, 0).raw(0x68, 0).tuple().stop(); // LONG_BINGET 7, BINGET 0
    const [list, dict, dict2, list2] = (parse(b.finish()) as { items: PyValue[] }).items;
    expect(list).toEqual({ kind: 'list', items: [1, 2, 3] });
    expect(dict).toEqual({ kind: 'dict', entries: [[{ kind: 'str', encoding: 'utf8', bytes: ascii('k') }, 9]] });
    expect(dict2).toBe(dict);
    expect(list2).toBe(list);
  });

  test("_codecs.encode(text, 'latin1') turns code points into bytes, never decoding them as text", () => {
    // U+00FF, U+0000, U+0080 and 'a', as Python 3 protocol 2 stores bytes b'\xff\x00\x80a'
    const b = w().proto(2).global('_codecs', 'encode').str('\u00ff\u0000\u0080a').str('latin1').tupleN(2).reduce().stop();
    expect(parse(b.finish())).toEqual({ kind: 'bytes', data: Uint8Array.of(0xff, 0x00, 0x80, 0x61) });
  });

  test('the caller’s buffer is left alone unless it allows overwriting, and both read the same', () => {
    const bytes = gunzipSync(readFileSync('test/fixtures/mnist-py3-p2.pkl.gz'));
    const copy = Uint8Array.from(bytes);
    const arrays = (v: PyValue) =>
      (v as { items: { items: PyValue[] }[] }).items.flatMap((s) => s.items.map((a) => ndarrayFromPickle(a, F, 'a')));
    const kept = arrays(parsePickle(bytes, F)).map((a) => float32Copy(a));
    expect(Buffer.compare(bytes, copy)).toBe(0);
    const inPlace = arrays(parsePickle(bytes, F, { mayOverwrite: true })).map((a) => float32Copy(a));
    expect(Buffer.compare(bytes, copy)).not.toBe(0); // the text was overwritten by its bytes
    expect(inPlace).toEqual(kept);
  });
});

describe('malformed pickles are DataErrors naming the file and the place', () => {
  test.each<[string, number[], RegExp]>([
    ['BINBYTES longer than the file', [0x80, 3, 0x42, 0xff, 0xff, 0xff, 0x7f, 1, 2, 0x2e], /truncated: a byte string needs 2147483647 bytes but only 3 remain \(opcode BINBYTES at byte 2\)/],
    ['BINBYTES8 of 2^60 bytes', [0x80, 4, 0x8e, 0, 0, 0, 0, 0, 0, 0, 0x10, 0x2e], /a byte string needs 1152921504606846976 bytes but only 1 remain/],
    ['BYTEARRAY8 of 2^40 bytes', [0x80, 5, 0x96, 0, 0, 0, 0, 0, 1, 0, 0, 0x2e], /a byte string needs 1099511627776 bytes/],
    ['BINUNICODE8 too long', [0x80, 4, 0x8d, 9, 0, 0, 0, 0, 0, 0, 0, 0x61, 0x2e], /a text string needs 9 bytes but only 2 remain/],
    ['SHORT_BINBYTES too long', [0x80, 3, 0x43, 200, 1, 2, 3], /a byte string needs 200 bytes but only 3 remain/],
    ['BINSTRING with a negative length', [0x80, 2, 0x54, 0xff, 0xff, 0xff, 0xff, 0x2e], /negative length -1 \(opcode BINSTRING at byte 2\)/],
    ['FRAME longer than the file', [0x80, 4, 0x95, 0, 0, 0, 0, 1, 0, 0, 0, 0x4e, 0x2e], /FRAME needs 4294967296 bytes but only 2 remain/],
    ['LONG4 longer than the file', [0x80, 2, 0x8b, 0xff, 0xff, 0, 0, 0x2e], /an integer needs 65535 bytes but only 1 remain/],
    ['a huge but present LONG4', [0x80, 2, 0x8b, 100, 0, 0, 0, ...new Array(100).fill(1), 0x2e], /integer of 100 bytes is too large/],
    ['BININT cut short', [0x80, 2, 0x4a, 1, 2], /an argument needs 4 bytes but only 2 remain/],
    ['a text argument with no newline', [0x63, 0x6f, 0x73], /a text argument has no end of line \(opcode GLOBAL at byte 0\)/],
    ['stack underflow', [0x80, 2, 0x4b, 1, 0x86, 0x2e], /stack underflow \(opcode TUPLE2 at byte 4\)/],
    ['popping below a MARK', [0x80, 2, 0x4b, 1, 0x28, 0x61, 0x2e], /stack underflow \(opcode APPEND at byte 5\)/],
    ['TUPLE without a MARK', [0x80, 2, 0x4b, 1, 0x74, 0x2e], /no MARK to pop to/],
    ['a memo miss', [0x80, 2, 0x68, 5, 0x2e], /memo key 5 was never stored \(opcode BINGET at byte 2\)/],
    ['a memo put with an empty stack', [0x80, 2, 0x71, 0, 0x2e], /stack underflow \(opcode BINPUT at byte 2\)/],
    ['no STOP', [0x80, 2, 0x4b, 1], /truncated: the pickle ends without a STOP opcode/],
    ['an empty file', [], /the pickle ends without a STOP opcode/],
    ['STOP with two values', [0x80, 2, 0x4b, 1, 0x4b, 2, 0x2e], /STOP with 2 values on the stack, expected 1/],
    ['STOP inside a MARK', [0x80, 2, 0x4b, 1, 0x28, 0x2e], /STOP inside an unclosed MARK/],
    ['bytes after STOP', [0x80, 2, 0x4e, 0x2e, 0, 0], /2 unexpected bytes after the pickle's STOP opcode/],
    ['an unknown opcode', [0x80, 2, 0xff, 0x2e], /unknown or unsupported pickle opcode 0xff at byte 2$/],
    ['a protocol from the future', [0x80, 6, 0x4e, 0x2e], /pickle protocol 6 is newer than 5/],
    ['an out-of-band buffer', [0x80, 5, 0x97, 0x2e], /out-of-band buffer \(pickled with buffer_callback\)/],
    ['REDUCE on a non-global', [0x80, 2, 0x4b, 1, 0x29, 0x52, 0x2e], /REDUCE needs a global to call, found int 1/],
    ['BUILD on a non-object', [0x80, 2, 0x4b, 1, 0x4e, 0x62, 0x2e], /BUILD on int 1, not on an object/],
    ['an APPEND to a tuple', [0x80, 2, 0x29, 0x4b, 1, 0x61, 0x2e], /appending to tuple of 0 items, not a list/],
    ['an unquoted STRING', Array.from(ascii('Sabc\n.')), /the STRING opcode argument must be quoted/],
    ['a bad \\x escape', Array.from(ascii("S'\\xZZ'\n.")), /invalid \\x escape/],
    ['an INT that is not a number', Array.from(ascii('I4x\n.')), /invalid integer '4x'/],
  ])('%s', (_, bytes, message) => {
    expect(refusal(bytes)).toMatch(message);
  });

  test("_codecs.encode of text above U+00FF is not latin-1 bytes", () => {
    const b = w().proto(2).global('_codecs', 'encode').str('a\u0101').str('latin1').tupleN(2).reduce().stop();
    expect(refusal(b.finish())).toMatch(/holds a character above U\+00FF \(at text byte 1\), so it is not latin-1/);
  });

  test('_codecs.encode to another encoding is refused', () => {
    const b = w().proto(2).global('_codecs', 'encode').str('abc').str('utf-8').tupleN(2).reduce().stop();
    expect(refusal(b.finish())).toMatch(/_codecs.encode to 'utf-8', expected 'latin1'/);
  });

  test('BUILD twice on one object', () => {
    const b = w().proto(4).stackGlobal('numpy', 'dtype').str('f4').tupleN(1).reduce().none().build().none().build().stop();
    expect(refusal(b.finish())).toMatch(/BUILD applied twice to one object/);
  });

  test('a refused global names itself with control characters escaped', () => {
    expect(refusal(ascii('cos\x1b[2J\nsystem\n.'))).toBe(`${F}: refused pickle global 'os\\x1b[2J system' (only numpy array globals are allowed)`);
  });
});

describe('numpy arrays', () => {
  const arrayOf = (spec: ArraySpec) => ndarrayFromPickle(parse(w().proto(4).ndarray(spec).stop().finish()), F, 'a');
  const le = (bytes: number[]) => Uint8Array.from(bytes);

  test('dtype, shape and bytes, untouched until converted', () => {
    const data = new Uint8Array(Float32Array.of(1, 2, 3, 4, 5, 6).buffer);
    const a = arrayOf({ dtype: '<f4', shape: [2, 3], data });
    expect(a.dtype).toEqual({ kind: 'f', itemsize: 4, littleEndian: true, str: '<f4' });
    expect([a.shape, a.size, a.fortran]).toEqual([[2, 3], 6, false]);
    expect(Array.from(a.data)).toEqual(Array.from(data));
    expect(Array.from(float32Copy(a))).toEqual([1, 2, 3, 4, 5, 6]);
  });

  test('Fortran order is read back row-major, in any number of dimensions', () => {
    // a[i, j, k] = 100 i + 10 j + k for shape [2, 3, 2], stored first axis fastest
    const values: number[] = [];
    for (let k = 0; k < 2; k++) for (let j = 0; j < 3; j++) for (let i = 0; i < 2; i++) values.push(100 * i + 10 * j + k);
    const a = arrayOf({ dtype: '<f4', shape: [2, 3, 2], data: new Uint8Array(Float32Array.from(values).buffer), fortran: true });
    expect(Array.from(float32Copy(a))).toEqual([0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121]);
  });

  test.each<[string, number[], number[]]>([
    ['|i1', [0xff, 0x7f], [-1, 127]],
    ['<u2', [0xff, 0xff, 1, 0], [65535, 1]],
    ['>i2', [0xff, 0xfe, 0, 1], [-2, 1]],
    ['<i4', [0xff, 0xff, 0xff, 0xff, 5, 0, 0, 0], [-1, 5]],
    ['>u4', [0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 3], [2147483647, 3]],
    ['<i8', [0, 0, 0, 0x80, 0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0, 0, 0, 0, 0], [-2147483648, 7]],
    ['>u8', [0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 9], [2147483647, 9]],
  ])('%s integers become int32', (dtype, bytes, want) => {
    expect(Array.from(int32Copy(arrayOf({ dtype, shape: [2], data: le(bytes) }), F, 'y'))).toEqual(want);
  });

  test.each<[string, number[], RegExp]>([
    ['<u4', [0, 0, 0, 0x80], /y: value 2147483648 at element 0 does not fit in a 32-bit integer/],
    ['<i8', [0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0, 0], /y: value 2147483648 at element 1 does not fit/],
    ['<i8', [0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff], /value -2147483649 at element 1/],
    ['<u8', [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], /value 18446744073709551615 at element 0/],
  ])('%s values beyond int32 are refused', (dtype, bytes, message) => {
    const a = arrayOf({ dtype, shape: [bytes.length / Number(dtype.slice(2))], data: le(bytes) });
    expect(dataError(() => int32Copy(a, F, 'y'), F).message).toMatch(message);
  });

  test.each<[string, ArraySpec, RegExp]>([
    ['a float16 array', { dtype: '<f2', shape: [1], data: le([0, 0]) }, /a: unsupported dtype 'f2'/],
    ['a complex array', { dtype: '<c8', shape: [1], data: le([0, 0, 0, 0, 0, 0, 0, 0]) }, /a: unsupported dtype 'c8'/],
    ["'|' on a 4-byte type", { dtype: '|f4', shape: [1], data: le([0, 0, 0, 0]) }, /a: byte order '\|' for a 4-byte type/],
    ['too few bytes', { dtype: '<f8', shape: [2, 2], data: le([0, 0, 0, 0]) }, /a: holds 4 bytes of data but shape \[2, 2\] of <f8 needs 32/],
    ['too many bytes', { dtype: '|u1', shape: [3], data: le([1, 2, 3, 4]) }, /a: holds 4 bytes of data but shape \[3\] of \|u1 needs 3/],
    ['a huge shape', { dtype: '|u1', shape: [65535, 65535, 65535], data: le([1]) }, /needs 281462092005375$/],
  ])('%s is refused', (_, spec, message) => {
    expect(dataError(() => arrayOf(spec), F).message).toMatch(message);
  });

  test("_frombuffer with order 'K' and an axis order is refused", () => {
    const b = w().proto(5).stackGlobal('numpy._core.numeric', '_frombuffer').mark().bytes(le([0, 0, 0, 0]));
    b.stackGlobal('numpy', 'dtype').str('f4').bool(false).bool(true).tupleN(3).reduce();
    b.int(1).tupleN(1).str('K').int(0).tupleN(1).tuple().reduce().stop();
    expect(dataError(() => ndarrayFromPickle(parse(b.finish()), F, 'x'), F).message).toMatch(/x: arrays with a permuted axis order/);
  });

  test('an array without its BUILD state', () => {
    const b = w().proto(4).stackGlobal('numpy._core.multiarray', '_reconstruct').stackGlobal('numpy', 'ndarray');
    b.int(0).tupleN(1).raw(0x43, 1, 0x62).tupleN(3).reduce().stop();
    expect(dataError(() => ndarrayFromPickle(parse(b.finish()), F, 'x'), F).message).toMatch(/x: a numpy array without its state/);
  });
});
