/**
 * A safe reader for the pickles numpy writes (protocols 0-5). Python's own unpickler runs whatever
 * the file names (`os.system`, `builtins.eval`, ...); this one calls nothing. It knows only the opcodes
 * that pickles of tuples of numpy arrays use, accepts only the globals numpy arrays need, and turns a
 * call (REDUCE) into an inert record (PyCall) for numpy-pickle.ts to interpret. The one call it does
 * evaluate is `_codecs.encode(text, 'latin1')`, a pure conversion, because that is how Python 3's
 * protocols 0-2 spell bytes.
 *
 * Every length the file declares is checked against the bytes that remain before anything is sliced;
 * byte strings are views into the input, not copies.
 */
import { DataError } from '../errors.js';
import { MAX_INT_BYTES } from './limits.js';
import { decodeRawUnicodeEscape, latin1FromUtf8, strText, unquoteStringLiteral } from './pickle-text.js';
import { describe, type PyBytes, type PyGlobal, type PyInt, type PyStr, type PyValue } from './pickle-values.js';

/** The module-level names numpy arrays need, as "module name". Everything else is refused. */
export const ALLOWED_GLOBALS: ReadonlySet<string> = new Set([
  'numpy.core.multiarray _reconstruct', // ndarray.__reduce__, numpy 1.x
  'numpy._core.multiarray _reconstruct', // ndarray.__reduce__, numpy 2.x
  'numpy.core.numeric _frombuffer', // ndarray.__reduce_ex__(5), numpy 1.x
  'numpy._core.numeric _frombuffer', // ndarray.__reduce_ex__(5), numpy 2.x
  'numpy ndarray',
  'numpy dtype',
  '_codecs encode', // how Python 3 protocols 0-2 write bytes
  '__builtin__ bytes', // how Python 3 protocols 0-2 write empty bytes (an empty array's data): bytes()
  'builtins bytes', // the same, pickled with fix_imports=False
]);

export const HIGHEST_PROTOCOL = 5;

export interface PickleOptions {
  /**
   * Let `_codecs.encode(text, 'latin1')` write its bytes over the text in the input buffer instead of
   * into a copy (latin-1 is never longer than its UTF-8). This keeps peak memory near the input size
   * for Python 3 protocol 2 pickles of big arrays; pass it only for a buffer nothing else will read.
   */
  mayOverwrite?: boolean;
}

/** The value a pickle holds. Throws a DataError naming `file` on anything malformed or not allowed. */
export function parsePickle(bytes: Uint8Array, file: string, opts: PickleOptions = {}): PyValue {
  return new Machine(bytes, file, opts.mayOverwrite ?? false, false).run();
}

/**
 * Reads the first bytes of a pickle as far as they go, and throws the DataError parsePickle would
 * throw for the whole file when they already show it (an unknown opcode, a refused global, a
 * protocol too new), so that a .pkl.gz is refused before it is inflated any further. Running out of
 * bytes is no error here: the rest of the file is not read yet.
 */
export function checkPicklePrefix(head: Uint8Array, file: string): void {
  try {
    new Machine(head, file, false, true).run();
  } catch (e) {
    if (e !== END_OF_PREFIX) throw e;
  }
}

/** Thrown by a Machine reading a prefix when the prefix ends. */
const END_OF_PREFIX = Symbol('end of prefix');

class Machine {
  private pos = 0;
  private opPos = 0;
  private op = 0;
  private readonly stack: PyValue[] = [];
  /** stack heights at each open MARK: nothing below the innermost one may be popped */
  private readonly marks: number[] = [];
  private readonly memo = new Map<number, PyValue>();
  private readonly view: DataView;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string,
    private readonly mayOverwrite: boolean,
    /** whether `bytes` are only the first bytes of the pickle (see checkPicklePrefix) */
    private readonly prefix: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): PyValue {
    const b = this.bytes;
    while (this.pos < b.length) {
      this.opPos = this.pos;
      this.op = b[this.pos++];
      if (this.op === Op.STOP) return this.stop();
      this.step(this.op);
    }
    return this.truncated('the pickle ends without a STOP opcode');
  }

  private step(op: number): void {
    switch (op) {
      case Op.PROTO: {
        const v = this.u8();
        if (v > HIGHEST_PROTOCOL) this.fail(`pickle protocol ${v} is newer than ${HIGHEST_PROTOCOL}, the highest this reader knows`);
        return;
      }
      case Op.FRAME:
        this.u64Length('FRAME'); // only a read-ahead hint; opcodes run on regardless
        return;

      // --- globals: checked against the allow-list as soon as they are named
      case Op.GLOBAL: {
        const module = utf8Loose(this.line());
        const name = utf8Loose(this.line());
        return this.push(this.global(module, name));
      }
      case Op.STACK_GLOBAL: {
        const name = this.pop();
        const module = this.pop();
        if (!isStr(module) || !isStr(name)) this.fail(`STACK_GLOBAL needs two str, found ${describe(module)} and ${describe(name)}`);
        return this.push(this.global(this.text(module), this.text(name)));
      }

      // --- constants
      case Op.NONE:
        return this.push(null);
      case Op.NEWTRUE:
        return this.push(true);
      case Op.NEWFALSE:
        return this.push(false);
      case Op.BININT1:
        return this.push(this.u8());
      case Op.BININT2:
        return this.push(this.u16());
      case Op.BININT:
        return this.push(this.i32());
      case Op.LONG1:
        return this.push(this.littleEndianInt(this.u8()));
      case Op.LONG4: {
        const n = this.i32();
        if (n < 0) this.fail(`negative length ${n}`);
        return this.push(this.littleEndianInt(n));
      }
      case Op.INT: {
        // protocol 0: "I01" and "I00" are True and False, else a decimal
        const t = ascii(this.line()).trim();
        if (t === '01') return this.push(true);
        if (t === '00') return this.push(false);
        return this.push(this.decimal(t));
      }
      case Op.LONG:
        return this.push(this.decimal(ascii(this.line()).trim().replace(/L$/, '')));

      // --- byte strings (views into the input)
      case Op.SHORT_BINSTRING:
      case Op.SHORT_BINBYTES:
        return this.push(this.bytesOf(this.u8()));
      case Op.BINSTRING: {
        const n = this.i32();
        if (n < 0) this.fail(`negative length ${n}`);
        return this.push(this.bytesOf(n));
      }
      case Op.BINBYTES:
        return this.push(this.bytesOf(this.u32()));
      case Op.BINBYTES8:
      case Op.BYTEARRAY8:
        return this.push(this.bytesOf(this.u64Length('a byte string')));
      case Op.STRING:
        return this.push({ kind: 'bytes', data: unquoteStringLiteral(this.line(), this.failer) });

      // --- text (kept as bytes; see pickle-text.ts)
      case Op.SHORT_BINUNICODE:
        return this.push(this.strOf(this.u8()));
      case Op.BINUNICODE:
        return this.push(this.strOf(this.u32()));
      case Op.BINUNICODE8:
        return this.push(this.strOf(this.u64Length('a text string')));
      case Op.UNICODE:
        return this.push(decodeRawUnicodeEscape(this.line(), this.failer));

      // --- containers
      case Op.MARK:
        this.marks.push(this.stack.length);
        return;
      case Op.EMPTY_TUPLE:
        return this.push({ kind: 'tuple', items: [] });
      case Op.TUPLE:
        return this.push({ kind: 'tuple', items: this.popMark() });
      case Op.TUPLE1:
      case Op.TUPLE2:
      case Op.TUPLE3: {
        const n = op - Op.TUPLE1 + 1;
        const items: PyValue[] = new Array<PyValue>(n);
        for (let i = n - 1; i >= 0; i--) items[i] = this.pop();
        return this.push({ kind: 'tuple', items });
      }
      case Op.EMPTY_LIST:
        return this.push({ kind: 'list', items: [] });
      case Op.LIST:
        return this.push({ kind: 'list', items: this.popMark() });
      case Op.APPEND: {
        const v = this.pop();
        this.listOnTop().items.push(v);
        return;
      }
      case Op.APPENDS: {
        const vs = this.popMark();
        const items = this.listOnTop().items;
        for (const v of vs) items.push(v); // not push(...vs): a long spread overflows the call stack
        return;
      }
      case Op.EMPTY_DICT:
        return this.push({ kind: 'dict', entries: [] });
      case Op.DICT:
        return this.push({ kind: 'dict', entries: this.pairs(this.popMark()) });
      case Op.SETITEM: {
        const v = this.pop();
        const k = this.pop();
        this.dictOnTop().entries.push([k, v]);
        return;
      }
      case Op.SETITEMS: {
        const kvs = this.pairs(this.popMark());
        const entries = this.dictOnTop().entries;
        for (const kv of kvs) entries.push(kv);
        return;
      }

      // --- memo
      case Op.PUT:
        return this.put(this.decimalIndex());
      case Op.BINPUT:
        return this.put(this.u8());
      case Op.LONG_BINPUT:
        return this.put(this.u32());
      case Op.MEMOIZE:
        return this.put(this.memo.size);
      case Op.GET:
        return this.get(this.decimalIndex());
      case Op.BINGET:
        return this.get(this.u8());
      case Op.LONG_BINGET:
        return this.get(this.u32());

      // --- calls, kept inert
      case Op.REDUCE: {
        const args = this.pop();
        const func = this.pop();
        if (!isGlobal(func)) this.fail(`REDUCE needs a global to call, found ${describe(func)}`);
        if (args === null || typeof args !== 'object' || args.kind !== 'tuple') {
          this.fail(`REDUCE needs a tuple of arguments, found ${describe(args)}`);
        }
        if (func.module === '_codecs' && func.name === 'encode') return this.push(this.codecsEncode(args.items));
        if (func.name === 'bytes' && (func.module === '__builtin__' || func.module === 'builtins')) return this.push(this.emptyBytes(args.items));
        return this.push({ kind: 'call', func, args: args.items });
      }
      case Op.BUILD: {
        const state = this.pop();
        const obj = this.top();
        if (obj === null || typeof obj !== 'object' || obj.kind !== 'call') this.fail(`BUILD on ${describe(obj)}, not on an object`);
        if (obj.state !== undefined) this.fail('BUILD applied twice to one object');
        obj.state = state;
        return;
      }

      case Op.NEXT_BUFFER:
      case Op.READONLY_BUFFER:
        this.fail('the array data is an out-of-band buffer (pickled with buffer_callback), so it is not in this file');
        return;
      default:
        this.refuse(
          `unknown or unsupported pickle opcode 0x${hex2(op)}${Op[op] ? ` (${Op[op]})` : ''} at byte ${this.opPos}`,
        );
    }
  }

  private stop(): PyValue {
    if (this.prefix) throw END_OF_PREFIX; // whether anything follows is for the whole file to say
    if (this.marks.length > 0) this.fail('STOP inside an unclosed MARK');
    if (this.stack.length !== 1) this.fail(`STOP with ${this.stack.length} values on the stack, expected 1`);
    const extra = this.bytes.length - this.pos;
    if (extra > 0) this.refuse(`${extra} unexpected bytes after the pickle's STOP opcode`);
    return this.stack[0];
  }

  // --- errors

  /** A malformed pickle: the problem, with the opcode and where it is. */
  private fail(problem: string): never {
    const name = Op[this.op] ?? `0x${hex2(this.op)}`;
    throw new DataError(this.file, `malformed pickle: ${problem} (opcode ${name} at byte ${this.opPos})`);
  }

  private readonly failer = (problem: string): never => this.fail(problem);

  /** The input ends before `problem` is resolved: malformed, unless only a prefix is being read. */
  private truncated(problem: string): never {
    if (this.prefix) throw END_OF_PREFIX;
    return this.fail(`truncated: ${problem}`);
  }

  private refuse(problem: string): never {
    throw new DataError(this.file, problem);
  }

  private global(module: string, name: string): PyGlobal {
    if (!ALLOWED_GLOBALS.has(`${module} ${name}`)) {
      this.refuse(`refused pickle global '${printable(`${module} ${name}`)}' (only numpy array globals are allowed)`);
    }
    return { kind: 'global', module, name };
  }

  // --- stack

  private push(v: PyValue): void {
    this.stack.push(v);
  }

  private pop(): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack.pop() as PyValue;
  }

  private top(): PyValue {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow');
    return this.stack[this.stack.length - 1];
  }

  private popMark(): PyValue[] {
    const base = this.marks.pop();
    if (base === undefined) this.fail('no MARK to pop to');
    return this.stack.splice(base);
  }

  private listOnTop(): { items: PyValue[] } {
    const l = this.top();
    if (l === null || typeof l !== 'object' || l.kind !== 'list') this.fail(`appending to ${describe(l)}, not a list`);
    return l;
  }

  private dictOnTop(): { entries: [PyValue, PyValue][] } {
    const d = this.top();
    if (d === null || typeof d !== 'object' || d.kind !== 'dict') this.fail(`setting an item of ${describe(d)}, not a dict`);
    return d;
  }

  private pairs(items: PyValue[]): [PyValue, PyValue][] {
    if (items.length % 2 !== 0) this.fail('an odd number of items for a dict');
    const out: [PyValue, PyValue][] = [];
    for (let i = 0; i < items.length; i += 2) out.push([items[i], items[i + 1]]);
    return out;
  }

  // --- memo

  private put(index: number): void {
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    const v = this.memo.get(index);
    if (v === undefined) this.fail(`memo key ${index} was never stored`);
    this.push(v);
  }

  // --- reading the input; every length is checked against what remains

  private need(n: number, what: string): void {
    const left = this.bytes.length - this.pos;
    if (n > left) this.truncated(`${what} needs ${n} bytes but only ${left} remain`);
  }

  private u8(): number {
    this.need(1, 'an argument');
    return this.bytes[this.pos++];
  }

  private u16(): number {
    this.need(2, 'an argument');
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }

  private i32(): number {
    this.need(4, 'an argument');
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }

  private u32(): number {
    this.need(4, 'an argument');
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }

  /** A uint64 length, refused (exactly, before any rounding) when it runs past the end of the input. */
  private u64Length(what: string): number {
    this.need(8, 'an argument');
    const n = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    const left = this.bytes.length - this.pos;
    if (n > BigInt(left)) this.truncated(`${what} needs ${n} bytes but only ${left} remain`);
    return Number(n);
  }

  private take(n: number, what: string): Uint8Array {
    this.need(n, what); // a declared length, refused when it runs past the end of the input
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  private bytesOf(n: number): PyBytes {
    return { kind: 'bytes', data: this.take(n, 'a byte string') };
  }

  private strOf(n: number): PyStr {
    return { kind: 'str', encoding: 'utf8', bytes: this.take(n, 'a text string') };
  }

  /** A protocol 0 argument: the bytes up to the next newline. */
  private line(): Uint8Array {
    const end = this.bytes.indexOf(NEWLINE, this.pos);
    if (end < 0) this.truncated('a text argument has no end of line');
    const v = this.bytes.subarray(this.pos, end);
    this.pos = end + 1;
    return v;
  }

  private text(s: PyStr): string {
    return strText(s, this.failer);
  }

  private littleEndianInt(n: number): PyInt {
    const b = this.take(n, 'an integer');
    if (n > MAX_INT_BYTES) this.fail(`integer of ${n} bytes is too large`);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n); // two's complement
    return small(v);
  }

  private decimal(t: string): PyInt {
    if (!/^[+-]?\d+$/.test(t) || t.length > MAX_INT_BYTES) this.fail(`invalid integer '${printable(t)}'`);
    return small(BigInt(t));
  }

  private decimalIndex(): number {
    const v = this.decimal(ascii(this.line()).trim());
    if (typeof v !== 'number' || v < 0) this.fail(`invalid memo key ${v}`);
    return v;
  }

  /** `bytes()`: Python 3 pickles empty bytes so in protocols 0-2; with arguments it is no array data. */
  private emptyBytes(args: PyValue[]): PyBytes {
    if (args.length !== 0) this.fail(`bytes called with arguments (${args.map(describe).join(', ')}), expected bytes()`);
    return { kind: 'bytes', data: new Uint8Array(0) };
  }

  /** `_codecs.encode(text, 'latin1')`: each code point (all < 256) becomes one byte. */
  private codecsEncode(args: PyValue[]): PyBytes {
    const [text, encoding] = args;
    if (args.length !== 2 || !isStr(text) || !isStr(encoding)) {
      this.fail(`_codecs.encode with arguments other than (str, 'latin1'): ${args.map(describe).join(', ')}`);
    }
    const enc = this.text(encoding).toLowerCase();
    if (enc !== 'latin1' && enc !== 'latin-1') this.fail(`_codecs.encode to '${printable(enc)}', expected 'latin1'`);
    if (text.consumed) this.fail('a string was used again after its bytes were taken as array data');
    if (text.encoding === 'latin1') return { kind: 'bytes', data: text.bytes };
    const dst = this.mayOverwrite ? text.bytes : new Uint8Array(text.bytes.length);
    const n = latin1FromUtf8(text.bytes, dst, this.failer);
    if (this.mayOverwrite) {
      text.consumed = true;
      text.bytes = new Uint8Array(0);
    }
    return { kind: 'bytes', data: dst.subarray(0, n) };
  }
}

function isStr(v: PyValue): v is PyStr {
  return v !== null && typeof v === 'object' && v.kind === 'str';
}

function isGlobal(v: PyValue): v is PyGlobal {
  return v !== null && typeof v === 'object' && v.kind === 'global';
}

function small(v: bigint): PyInt {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function ascii(b: Uint8Array): string {
  return b.length > MAX_INT_BYTES + 8 ? '<too long>' : String.fromCharCode(...b);
}

function utf8Loose(b: Uint8Array): string {
  return new TextDecoder('utf-8').decode(b.subarray(0, 200));
}

/** A name for an error message: control characters escaped, length capped. */
function printable(s: string): string {
  const t = s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${hex2(c.charCodeAt(0))}`);
  return t.length > 120 ? `${t.slice(0, 120)}...` : t;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

/** The end of a protocol 0 argument. */
const NEWLINE = 0x0a;

// Opcodes (Python's Lib/pickletools.py), by name; Op[code] is the name back (a numeric enum maps both ways).
enum Op {
  MARK = 0x28, // (
  STOP = 0x2e, // .
  INT = 0x49, // I
  BININT = 0x4a, // J
  BININT1 = 0x4b, // K
  LONG = 0x4c, // L
  BININT2 = 0x4d, // M
  NONE = 0x4e, // N
  REDUCE = 0x52, // R
  STRING = 0x53, // S
  BINSTRING = 0x54, // T
  SHORT_BINSTRING = 0x55, // U
  UNICODE = 0x56, // V
  BINUNICODE = 0x58, // X
  APPEND = 0x61, // a
  BUILD = 0x62, // b
  GLOBAL = 0x63, // c
  DICT = 0x64, // d
  EMPTY_DICT = 0x7d, // }
  APPENDS = 0x65, // e
  GET = 0x67, // g
  BINGET = 0x68, // h
  LONG_BINGET = 0x6a, // j
  LIST = 0x6c, // l
  EMPTY_LIST = 0x5d, // ]
  PUT = 0x70, // p
  BINPUT = 0x71, // q
  LONG_BINPUT = 0x72, // r
  SETITEM = 0x73, // s
  TUPLE = 0x74, // t
  EMPTY_TUPLE = 0x29, // )
  SETITEMS = 0x75, // u
  PROTO = 0x80,
  TUPLE1 = 0x85,
  TUPLE2 = 0x86,
  TUPLE3 = 0x87,
  NEWTRUE = 0x88,
  NEWFALSE = 0x89,
  LONG1 = 0x8a,
  LONG4 = 0x8b,
  BINBYTES = 0x42, // B
  SHORT_BINBYTES = 0x43, // C
  SHORT_BINUNICODE = 0x8c,
  BINUNICODE8 = 0x8d,
  BINBYTES8 = 0x8e,
  STACK_GLOBAL = 0x93,
  MEMOIZE = 0x94,
  FRAME = 0x95,
  BYTEARRAY8 = 0x96,
  NEXT_BUFFER = 0x97,
  READONLY_BUFFER = 0x98,
  // named for the messages about them; a pickle of arrays has no use for them, and they are refused
  POP = 0x30,
  POP_MARK = 0x31,
  DUP = 0x32,
  FLOAT = 0x46,
  BINFLOAT = 0x47,
  PERSID = 0x50,
  BINPERSID = 0x51,
  INST = 0x69,
  OBJ = 0x6f,
  NEWOBJ = 0x81,
  EXT1 = 0x82,
  EXT2 = 0x83,
  EXT4 = 0x84,
  EMPTY_SET = 0x8f,
  ADDITEMS = 0x90,
  FROZENSET = 0x91,
  NEWOBJ_EX = 0x92,
}

