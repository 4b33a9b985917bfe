import { DataError } from '../errors.js';

/**
 * The safetensors format: an 8-byte little-endian header length N, N bytes of JSON naming each
 * tensor's dtype, shape and [begin, end) byte offsets into the data that follows (plus an optional
 * "__metadata__" map of strings), then the raw little-endian tensor bytes, row-major.
 */
export interface NamedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function encodeSafetensors(tensors: readonly NamedTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, HeaderEntry | Record<string, string>> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new RangeError(`${t.name}: shape [${t.shape}] holds ${n} values, data has ${t.data.length}`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  // The data is aligned to 8 bytes by padding the header with spaces, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    // Float32Array bytes are the platform's order; Node runs little-endian everywhere it runs.
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

export interface DecodedSafetensors {
  /** for F32 tensors, `bytes` holds exactly 4 bytes per element of `shape`; other dtypes are left to whoever needs them */
  tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>;
  metadata: Record<string, string>;
}

/** The reference reader's limit on the header, which keeps the JSON parse cheap whatever length a file declares. */
const MAX_HEADER_BYTES = 100_000_000;

/** The longest piece of a file's own text (a tensor name, a dtype) an error message repeats. */
const MAX_SHOWN_CHARS = 80;

/**
 * Text from a file as an error message shows it: control characters escaped, so that the message
 * stays one line, and cut short, so that it stays readable.
 */
export function shown(text: string): string {
  const escaped = JSON.stringify(text).slice(1, -1);
  return escaped.length > MAX_SHOWN_CHARS ? `${escaped.slice(0, MAX_SHOWN_CHARS)}...` : escaped;
}

/** A JSON value from a file as an error message shows it (see shown). */
export function shownValue(value: unknown): string {
  const json = JSON.stringify(value) ?? String(value);
  return json.length > MAX_SHOWN_CHARS ? `${json.slice(0, MAX_SHOWN_CHARS)}...` : json;
}

interface Entry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/**
 * Parses a safetensors file's bytes. Every number the header declares is checked against the bytes
 * present before it is used, as the format's reference implementation does: the header length
 * against the file, each tensor's byte range against the data, an F32 tensor's shape against its
 * range, and the ranges against each other (disjoint, and covering the data exactly, with no bytes
 * that belong to no tensor). Every problem is a DataError naming the file.
 */
export function decodeSafetensors(bytes: Uint8Array, file: string): DecodedSafetensors {
  if (bytes.length < 8) throw new DataError(file, `is ${bytes.length} bytes long, too short for a safetensors file (8 bytes of header length first)`);
  const declared = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) throw new DataError(file, `header length ${declared} is past the end of the file (${bytes.length} bytes)`);
  if (declared > BigInt(MAX_HEADER_BYTES)) throw new DataError(file, `header length ${declared} is over safetensors' limit of ${MAX_HEADER_BYTES} bytes`);
  const headEnd = 8 + Number(declared);
  const header = parseHeader(bytes.subarray(8, headEnd), file);
  const dataLength = bytes.length - headEnd;
  let metadata: Record<string, string> = {};
  const entries: Entry[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') metadata = readMetadata(value, file);
    else entries.push(readEntry(name, value, dataLength, file));
  }
  checkCoverage(entries, dataLength, file);
  const tensors: DecodedSafetensors['tensors'] = new Map();
  for (const e of entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: bytes.subarray(headEnd + e.begin, headEnd + e.end) });
  return { tensors, metadata };
}

function parseHeader(head: Uint8Array, file: string): Record<string, unknown> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(head));
  } catch {
    throw new DataError(file, 'the safetensors header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new DataError(file, 'the safetensors header is not a JSON object');
  return header as Record<string, unknown>;
}

/** `__metadata__` is a map of strings; null, as the reference reader takes it, is none. */
function readMetadata(value: unknown, file: string): Record<string, string> {
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new DataError(file, `its __metadata__ is ${shownValue(value)}, not a map of strings`);
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new DataError(file, `its __metadata__ is not a map of strings: '${shown(key)}' is ${shownValue(v)}`);
  }
  return value as Record<string, string>;
}

function readEntry(name: string, value: unknown, dataLength: number, file: string): Entry {
  const bad = (problem: string) => new DataError(file, `tensor '${shown(name)}' ${problem}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`has the header entry ${shownValue(value)}, not an object of dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string') throw bad(`has the dtype ${shownValue(dtype)}, not a name such as "F32"`);
  if (!Array.isArray(shape) || !shape.every(isCount)) throw bad(`has the shape ${shownValue(shape)}, not a list of whole numbers >= 0`);
  // the element count, stopping as soon as it is more than any file holds
  let count = 1;
  for (const d of shape as number[]) {
    count *= d;
    if (count > Number.MAX_SAFE_INTEGER) throw bad(`has the shape [${shape.join(', ')}], more elements than a file can hold`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) throw bad(`has the data_offsets ${shownValue(offsets)}, not two whole numbers [begin, end]`);
  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) throw bad(`has data [${begin}, ${end}), outside the ${dataLength} data bytes`);
  // Only F32 is read here: another dtype is reported by name where the tensor is needed, whatever its byte count.
  if (dtype === 'F32' && end - begin !== count * 4) {
    throw bad(`is F32 of shape [${shape.join(', ')}], ${count * 4} bytes, but its data_offsets [${begin}, ${end}) hold ${end - begin}`);
  }
  return { name, dtype, shape: shape as number[], begin, end };
}

function isCount(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}

/**
 * The tensors' byte ranges must not overlap and must cover the data with no holes: then the
 * tensors together hold no more bytes than the file, and no bytes hide between them.
 */
function checkCoverage(entries: readonly Entry[], dataLength: number, file: string): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let last: Entry | null = null;
  for (const e of sorted) {
    if (e.begin < at) {
      throw new DataError(file, `tensors '${shown(last!.name)}' [${last!.begin}, ${last!.end}) and '${shown(e.name)}' [${e.begin}, ${e.end}) overlap`);
    }
    if (e.begin > at) throw new DataError(file, `data bytes [${at}, ${e.begin}) belong to no tensor`);
    at = e.end;
    last = e;
  }
  if (at < dataLength) throw new DataError(file, `data bytes [${at}, ${dataLength}) belong to no tensor (the file is longer than its header says)`);
}
