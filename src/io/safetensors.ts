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
  tensors: Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>;
  metadata: Record<string, string>;
}

/** Parses a safetensors file's bytes; every structural problem is a DataError naming the file. */
export function decodeSafetensors(bytes: Uint8Array, file: string): DecodedSafetensors {
  if (bytes.length < 8) throw new DataError(file, 'too short for a safetensors file');
  const n = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) throw new DataError(file, `header length ${n} is past the end of the file (${bytes.length} bytes)`);
  const headEnd = 8 + Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headEnd)));
  } catch {
    throw new DataError(file, 'the safetensors header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new DataError(file, 'the safetensors header is not a JSON object');
  const dataLen = bytes.length - headEnd;
  const tensors: DecodedSafetensors['tensors'] = new Map();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const e = v as Partial<HeaderEntry>;
    const ok =
      typeof e === 'object' &&
      e !== null &&
      typeof e.dtype === 'string' &&
      Array.isArray(e.shape) &&
      e.shape.every((d) => Number.isInteger(d) && d >= 0) &&
      Array.isArray(e.data_offsets) &&
      e.data_offsets.length === 2 &&
      e.data_offsets.every((d) => Number.isInteger(d) && d >= 0);
    if (!ok) throw new DataError(file, `tensor '${name}' has a malformed header entry`);
    const [begin, end] = e.data_offsets!;
    if (begin > end || end > dataLen) throw new DataError(file, `tensor '${name}' data [${begin}, ${end}) is outside the ${dataLen} data bytes`);
    tensors.set(name, { dtype: e.dtype!, shape: e.shape!, bytes: bytes.subarray(headEnd + begin, headEnd + end) });
  }
  return { tensors, metadata };
}
