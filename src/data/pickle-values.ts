/**
 * The values the safe pickle reader (pickle.ts) builds. Nothing here is executable: a Python call
 * (REDUCE) on an allowed global becomes an inert `PyCall` record that the numpy layer interprets.
 */

/** A Python int: a JS number when it is a safe integer, else a bigint. */
export type PyInt = number | bigint;

/** bytes / bytearray / Python 2 str: raw bytes, usually a view into the pickle's own buffer. */
export interface PyBytes {
  kind: 'bytes';
  data: Uint8Array;
}

/**
 * A Python 3 str, kept as bytes so that array data smuggled through text (protocol 0-2 pickles of
 * numpy arrays) is never run through a text decoder. `latin1`: one byte per code point (all < 256);
 * `utf8`: the UTF-8 the pickle stored.
 */
export interface PyStr {
  kind: 'str';
  encoding: 'utf8' | 'latin1';
  bytes: Uint8Array;
  /** Set once the bytes were converted in place (see pickle.ts); any later use is refused. */
  consumed?: boolean;
}

export interface PyTuple {
  kind: 'tuple';
  items: PyValue[];
}

export interface PyList {
  kind: 'list';
  items: PyValue[];
}

export interface PyDict {
  kind: 'dict';
  entries: [PyValue, PyValue][];
}

/** A module-level name from the allow-list (anything else is refused when the pickle names it). */
export interface PyGlobal {
  kind: 'global';
  module: string;
  name: string;
}

/** `func(*args)` that was never called, plus the state a later BUILD gave it (if any). */
export interface PyCall {
  kind: 'call';
  func: PyGlobal;
  args: PyValue[];
  state?: PyValue;
}

export type PyValue = null | boolean | PyInt | PyBytes | PyStr | PyTuple | PyList | PyDict | PyGlobal | PyCall;

export function isInt(v: PyValue): v is PyInt {
  return typeof v === 'number' || typeof v === 'bigint';
}

export function isSequence(v: PyValue): v is PyTuple | PyList {
  return v !== null && typeof v === 'object' && (v.kind === 'tuple' || v.kind === 'list');
}

export function isCallOf(v: PyValue, name: string): v is PyCall {
  return v !== null && typeof v === 'object' && v.kind === 'call' && v.func.name === name;
}

/** A short, non-recursive description for error messages ("tuple of 2 items", "numpy.dtype(...)"). */
export function describe(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `int ${v}`;
  switch (v.kind) {
    case 'bytes':
      return `bytes (${v.data.length} bytes)`;
    case 'str':
      return `str (${v.bytes.length} bytes)`;
    case 'tuple':
    case 'list':
      return `${v.kind} of ${v.items.length} item${v.items.length === 1 ? '' : 's'}`;
    case 'dict':
      return `dict of ${v.entries.length} entr${v.entries.length === 1 ? 'y' : 'ies'}`;
    case 'global':
      return `${v.module}.${v.name}`;
    case 'call':
      return `${v.func.module}.${v.func.name}(...)`;
  }
}
