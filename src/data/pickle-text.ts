/**
 * Byte-level conversions for the text a pickle may carry. Array data can travel as text (Python 3
 * protocols 0-2 pickle `bytes` as `_codecs.encode(str, 'latin1')`), so these work on bytes, code point
 * by code point, and never hand array data to a text decoder. Only short names become JS strings.
 */
import { MAX_NAME_CHARS } from './limits.js';
import type { PyStr } from './pickle-values.js';

/** Reports a malformed input; never returns. */
export type Fail = (problem: string) => never;

const BACKSLASH = 0x5c;

/**
 * UTF-8 text whose code points are all < 256, written as one byte per code point into `dst` (which
 * may be `src` itself: the write position never passes the read position). Returns the byte count.
 */
export function latin1FromUtf8(src: Uint8Array, dst: Uint8Array, fail: Fail): number {
  let w = 0;
  for (let r = 0; r < src.length; ) {
    const b = src[r];
    if (b < 0x80) {
      dst[w++] = b;
      r += 1;
    } else if (b === 0xc2 || b === 0xc3) {
      // U+0080..U+00FF: 110000xx 10xxxxxx
      const c = src[r + 1];
      if (r + 1 >= src.length || (c & 0xc0) !== 0x80) fail(`invalid UTF-8 at text byte ${r}`);
      dst[w++] = ((b & 0x03) << 6) | (c & 0x3f);
      r += 2;
    } else if (b >= 0xc4 && b <= 0xf4) {
      fail(`text meant as bytes holds a character above U+00FF (at text byte ${r}), so it is not latin-1`);
    } else {
      fail(`invalid UTF-8 at text byte ${r}`);
    }
  }
  return w;
}

/** A short str as a JS string (module names, dtype codes); long text is refused, not decoded. */
export function strText(s: PyStr, fail: Fail): string {
  if (s.consumed) fail('a string was used again after its bytes were taken as array data');
  if (s.bytes.length > MAX_NAME_CHARS) fail(`unexpectedly long text (${s.bytes.length} bytes) where a name was expected`);
  if (s.encoding === 'latin1') return latin1Text(s.bytes);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(s.bytes);
  } catch {
    return fail('invalid UTF-8 in a name');
  }
}

/** Short bytes (a Python 2 str naming a dtype or module) as text, one char per byte. */
export function latin1Text(bytes: Uint8Array): string {
  let t = '';
  for (let i = 0; i < bytes.length && i < MAX_NAME_CHARS; i++) t += String.fromCharCode(bytes[i]);
  return t;
}

/**
 * The argument of protocol 0's STRING opcode: a quoted Python 2 string literal (repr), unescaped to
 * bytes the way Python's `codecs.escape_decode` does.
 */
export function unquoteStringLiteral(line: Uint8Array, fail: Fail): Uint8Array {
  const q = line[0];
  if (line.length < 2 || (q !== 0x27 && q !== 0x22) || line[line.length - 1] !== q) {
    fail('the STRING opcode argument must be quoted');
  }
  const src = line.subarray(1, line.length - 1);
  const out = new Uint8Array(src.length); // unescaping only shortens
  let w = 0;
  for (let r = 0; r < src.length; ) {
    const b = src[r++];
    if (b !== BACKSLASH) {
      out[w++] = b;
      continue;
    }
    if (r >= src.length) fail('trailing backslash in a STRING literal');
    const e = src[r++];
    const simple = SIMPLE_ESCAPES.get(e);
    if (simple !== undefined) {
      out[w++] = simple;
    } else if (e === 0x78 /* x */) {
      const v = hexValue(src, r, 2);
      if (v < 0) fail('invalid \\x escape in a STRING literal');
      out[w++] = v;
      r += 2;
    } else if (e >= 0x30 && e <= 0x37) {
      // \o, \oo or \ooo octal
      let v = e - 0x30;
      for (let k = 0; k < 2 && r < src.length && src[r] >= 0x30 && src[r] <= 0x37; k++) v = v * 8 + (src[r++] - 0x30);
      out[w++] = v & 0xff;
    } else {
      // Python keeps an unknown escape as written
      out[w++] = BACKSLASH;
      out[w++] = e;
    }
  }
  return out.subarray(0, w);
}

const SIMPLE_ESCAPES = new Map<number, number>([
  [0x5c, 0x5c], // \\
  [0x27, 0x27], // \'
  [0x22, 0x22], // \"
  [0x61, 0x07], // \a
  [0x62, 0x08], // \b
  [0x66, 0x0c], // \f
  [0x6e, 0x0a], // \n
  [0x72, 0x0d], // \r
  [0x74, 0x09], // \t
  [0x76, 0x0b], // \v
]);

/**
 * The argument of protocol 0's UNICODE opcode, in Python's raw-unicode-escape: bytes are code points
 * U+0000..U+00FF except `\uXXXX` and `\UXXXXXXXX`. Kept as latin-1 bytes when every code point fits,
 * as UTF-8 otherwise.
 */
export function decodeRawUnicodeEscape(src: Uint8Array, fail: Fail): PyStr {
  // Two passes over the bytes (measure, then write) so that no per-character array is built.
  let count = 0;
  let utf8Length = 0;
  let wide = false;
  forEachRawUnicodePoint(src, fail, (cp) => {
    count++;
    utf8Length += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (cp > 0xff) wide = true;
  });
  if (!wide) {
    const bytes = new Uint8Array(count);
    let w = 0;
    forEachRawUnicodePoint(src, fail, (cp) => (bytes[w++] = cp));
    return { kind: 'str', encoding: 'latin1', bytes };
  }
  const bytes = new Uint8Array(utf8Length);
  let w = 0;
  forEachRawUnicodePoint(src, fail, (cp) => {
    if (cp < 0x80) bytes[w++] = cp;
    else if (cp < 0x800) {
      bytes[w++] = 0xc0 | (cp >> 6);
      bytes[w++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      bytes[w++] = 0xe0 | (cp >> 12);
      bytes[w++] = 0x80 | ((cp >> 6) & 0x3f);
      bytes[w++] = 0x80 | (cp & 0x3f);
    } else {
      bytes[w++] = 0xf0 | (cp >> 18);
      bytes[w++] = 0x80 | ((cp >> 12) & 0x3f);
      bytes[w++] = 0x80 | ((cp >> 6) & 0x3f);
      bytes[w++] = 0x80 | (cp & 0x3f);
    }
  });
  return { kind: 'str', encoding: 'utf8', bytes };
}

function forEachRawUnicodePoint(src: Uint8Array, fail: Fail, each: (cp: number) => void): void {
  for (let r = 0; r < src.length; ) {
    const b = src[r];
    const e = r + 1 < src.length ? src[r + 1] : -1;
    if (b === BACKSLASH && (e === 0x75 /* u */ || e === 0x55) /* U */) {
      const digits = e === 0x75 ? 4 : 8;
      const v = hexValue(src, r + 2, digits);
      if (v < 0 || v > 0x10ffff) fail('invalid \\u escape in a UNICODE argument');
      each(v);
      r += 2 + digits;
    } else {
      each(b);
      r += 1;
    }
  }
}

/** `n` hex digits at `at` as a number, or -1. */
function hexValue(src: Uint8Array, at: number, n: number): number {
  if (at + n > src.length) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = src[at + i];
    const d =
      c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}
