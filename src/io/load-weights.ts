import { DataError } from '../errors.js';
import { mlpLayout, type MlpLayout } from '../model/layout.js';
import { readDataFile } from '../data/read-file.js';
import { decodeSafetensors, shown, type DecodedSafetensors } from './safetensors.js';

/** A safetensors file, read and parsed (DataError naming the file when it is not one). */
export function readSafetensors(file: string): DecodedSafetensors {
  return decodeSafetensors(readDataFile(file), file);
}

/** How many of a file's tensor names a message lists before it says how many more there are. */
const MAX_LISTED_NAMES = 8;

/**
 * A tensor the model (or an optimizer's state in its layout) needs: present, F32 and of `shape`.
 * The dtype is checked first, so that a file of another precision is told so by name. F32 tensors
 * hold exactly their shape's bytes (decodeSafetensors checks it), so the shape check bounds every
 * size taken from them by the file's length.
 */
export function neededTensor(st: DecodedSafetensors, file: string, name: string, shape: readonly number[], missing: () => string): Uint8Array {
  const e = st.tensors.get(name);
  if (!e) throw new DataError(file, `has no tensor '${name}' (${missing()})`);
  if (e.dtype !== 'F32') throw new DataError(file, `tensor '${name}' is ${shown(e.dtype)}, expected F32 (this trainer reads float32 weights)`);
  if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
    throw new DataError(file, `tensor '${name}' has shape [${e.shape.join(', ')}], this model needs [${shape.join(', ')}]`);
  }
  const byteCount = shape.reduce((a, b) => a * b, 1) * 4;
  if (e.bytes.length !== byteCount) throw new DataError(file, `tensor '${name}' holds ${e.bytes.length} bytes, its shape needs ${byteCount}`);
  return e.bytes;
}

/** Checks that the file holds every model tensor of `layout` as F32 of its shape (before anything of the layout's size is allocated). */
export function checkModelTensors(st: DecodedSafetensors, file: string, layout: MlpLayout): void {
  for (const t of layout.tensors) neededTensor(st, file, t.name, t.shape, () => modelTensorsMissing(st, layout));
}

function modelTensorsMissing(st: DecodedSafetensors, layout: MlpLayout): string {
  const names = [...st.tensors.keys()].filter((k) => !k.startsWith('optim.'));
  const listed = names.slice(0, MAX_LISTED_NAMES).map(shown).join(', ');
  const have = names.length === 0 ? 'none' : names.length > MAX_LISTED_NAMES ? `${listed} and ${names.length - MAX_LISTED_NAMES} more` : listed;
  return `this model needs ${layout.tensors.map((x) => x.name).join(', ')}; the file has ${have}`;
}

/**
 * float32 values from a tensor's bytes into `out`, each finite (and, when `nonNegative`, >= 0).
 * Copied through bytes: the tensor's offset in the file need not be 4-byte aligned.
 */
export function copyValues(bytes: Uint8Array, out: Float32Array, file: string, name: string, nonNegative = false): void {
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(bytes);
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (!Number.isFinite(v) || (nonNegative && v < 0)) throw new DataError(file, `tensor '${name}' holds ${v} at element ${i}${nonNegative ? ' (its values are squares: finite and >= 0)' : ''}`);
  }
}

/**
 * Copies the model tensors of a safetensors file into the parameter block: every tensor the layout
 * names must be there as float32 with the layout's shape, and finite. Other tensors (an optimizer's
 * state) are left for their own readers.   params: [P]
 */
export function copyWeights(st: DecodedSafetensors, file: string, layout: MlpLayout, params: Float32Array): void {
  checkModelTensors(st, file, layout);
  copyChecked(st, file, layout, params);
}

function copyChecked(st: DecodedSafetensors, file: string, layout: MlpLayout, params: Float32Array): void {
  for (const t of layout.tensors) copyValues(st.tensors.get(t.name)!.bytes, params.subarray(t.offset, t.offset + t.length), file, t.name);
}

/**
 * The model tensors of a safetensors file as a new parameter block in the model layout, checked as
 * copyWeights checks them; the tensors are checked before the block is allocated, so its size is
 * one the file's bytes back.   result: [layout.count]
 */
export function readWeights(st: DecodedSafetensors, file: string, layout: MlpLayout): Float32Array {
  checkModelTensors(st, file, layout);
  const params = new Float32Array(layout.count);
  copyChecked(st, file, layout, params);
  return params;
}

/**
 * The layer sizes of a file's model, read off its weight matrices (`0.weight` [50, 784], `2.weight`
 * [10, 50], ...), each F32: its bytes then back its shape, so that nothing the caller allocates for
 * these sizes is larger than the file. The rest (biases, values) is readWeights's to check against
 * the model the caller builds. When the metadata records `sizes` as a list of widths, they must
 * agree with the tensors.
 */
export function checkpointSizes(st: DecodedSafetensors, file: string): number[] {
  const recorded = recordedSizes(st.metadata.sizes);
  if (recorded) {
    // The total first: metadata that claims a model far larger than the file is told so as such.
    let bytes = 0;
    for (const t of st.tensors.values()) bytes += t.bytes.length;
    const count = mlpLayout(recorded).count;
    if (count * 4 > bytes) throw new DataError(file, `its sizes [${recorded.join(', ')}] need ${count} float32 weights, but its tensors hold ${bytes} bytes`);
  }
  const sizes = shapeSizes(st, file);
  if (recorded && recorded.join() !== sizes.join()) throw new DataError(file, `its metadata's sizes [${recorded.join(', ')}] do not match its tensors, which make a ${sizes.join('-')} model`);
  return sizes;
}

/** The metadata's `sizes` when it is a list of two or more widths, else null (a file from elsewhere may use the name otherwise). */
export function recordedSizes(text: string | undefined): number[] | null {
  if (text === undefined) return null;
  let sizes: unknown;
  try {
    sizes = JSON.parse(text);
  } catch {
    return null;
  }
  return Array.isArray(sizes) && sizes.length >= 2 && sizes.every((n) => Number.isSafeInteger(n) && n > 0) ? (sizes as number[]) : null;
}

/** The widths the weight matrices make, layer by layer; each must be F32 (its bytes then back its shape). */
function shapeSizes(st: DecodedSafetensors, file: string): number[] {
  const sizes: number[] = [];
  for (let l = 0; ; l++) {
    const name = `${2 * l}.weight`;
    const w = st.tensors.get(name);
    if (!w) break;
    if (w.dtype !== 'F32') throw new DataError(file, `tensor '${name}' is ${shown(w.dtype)}, expected F32 (this trainer reads float32 weights)`);
    if (w.shape.length !== 2) throw new DataError(file, `tensor '${name}' has shape [${w.shape.join(', ')}], not a matrix [outputs, inputs]`);
    const [nOut, nIn] = w.shape;
    if (nOut < 1 || nIn < 1) throw new DataError(file, `tensor '${name}' has shape [${w.shape.join(', ')}]: a layer needs at least one input and one output`);
    if (l === 0) sizes.push(nIn);
    else if (nIn !== sizes[l]) throw new DataError(file, `tensor '${name}' takes ${nIn} inputs, the layer before gives ${sizes[l]}`);
    sizes.push(nOut);
  }
  if (sizes.length < 2) throw new DataError(file, "holds no '0.weight' tensor: not an MLP of nn.Sequential(Linear, ReLU, ...) names");
  return sizes;
}
