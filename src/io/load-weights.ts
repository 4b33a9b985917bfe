import { DataError } from '../errors.js';
import { mlpLayout, type MlpLayout } from '../model/layout.js';
import { readDataFile } from '../data/read-file.js';
import { decodeSafetensors, type DecodedSafetensors } from './safetensors.js';

/** A safetensors file, read and parsed (DataError naming the file when it is not one). */
export function readSafetensors(file: string): DecodedSafetensors {
  return decodeSafetensors(readDataFile(file), file);
}

/**
 * Copies the model tensors of a safetensors file into the parameter block: every tensor the layout
 * names must be there as float32 with the layout's shape, and finite. Other tensors (an optimizer's
 * state) are left for their own readers.   params: [P]
 */
export function copyWeights(st: DecodedSafetensors, file: string, layout: MlpLayout, params: Float32Array): void {
  for (const t of layout.tensors) {
    const e = st.tensors.get(t.name);
    if (!e) {
      const have = [...st.tensors.keys()].filter((k) => !k.includes('.momentum_buffer')).join(', ') || 'none';
      throw new DataError(file, `has no tensor '${t.name}' (this model needs ${layout.tensors.map((x) => x.name).join(', ')}; the file has ${have})`);
    }
    if (e.dtype !== 'F32') throw new DataError(file, `tensor '${t.name}' is ${e.dtype}, expected F32`);
    if (e.shape.length !== t.shape.length || e.shape.some((d, i) => d !== t.shape[i])) {
      throw new DataError(file, `tensor '${t.name}' has shape [${e.shape.join(', ')}], this model needs [${t.shape.join(', ')}]`);
    }
    if (e.bytes.length !== t.length * 4) throw new DataError(file, `tensor '${t.name}' holds ${e.bytes.length} bytes, its shape needs ${t.length * 4}`);
    // Copy through bytes: the tensor's offset in the file need not be 4-byte aligned.
    new Uint8Array(params.buffer, params.byteOffset + t.offset * 4, t.length * 4).set(e.bytes);
    for (let i = t.offset; i < t.offset + t.length; i++) {
      if (!Number.isFinite(params[i])) throw new DataError(file, `tensor '${t.name}' holds ${params[i]} at element ${i - t.offset}`);
    }
  }
}

/**
 * The model tensors of a safetensors file as a new parameter block in the model layout, checked as
 * copyWeights checks them.   result: [layout.count]
 */
export function readWeights(st: DecodedSafetensors, file: string, layout: MlpLayout): Float32Array {
  const params = new Float32Array(layout.count);
  copyWeights(st, file, layout, params);
  return params;
}

/**
 * The layer sizes recorded in a checkpoint's metadata, or, failing that, read off its tensor shapes.
 * Metadata could claim any width: sizes that need more weights than the file holds are refused
 * before anything of that size is allocated.
 */
export function checkpointSizes(st: DecodedSafetensors, file: string): number[] {
  if (st.metadata.sizes) {
    let sizes: unknown;
    try {
      sizes = JSON.parse(st.metadata.sizes);
    } catch {
      sizes = null; // fall through to the shapes
    }
    if (Array.isArray(sizes) && sizes.length >= 2 && sizes.every((n) => Number.isInteger(n) && n > 0)) {
      let bytes = 0;
      for (const t of st.tensors.values()) bytes += t.bytes.length;
      const count = mlpLayout(sizes).count;
      if (count * 4 > bytes) throw new DataError(file, `its sizes [${sizes.join(', ')}] need ${count} float32 weights, but its tensors hold ${bytes} bytes`);
      return sizes;
    }
  }
  const sizes: number[] = [];
  for (let l = 0; ; l++) {
    const w = st.tensors.get(`${2 * l}.weight`);
    if (!w) break;
    if (w.shape.length !== 2) throw new DataError(file, `tensor '${2 * l}.weight' is not a matrix`);
    if (l === 0) sizes.push(w.shape[1]);
    else if (w.shape[1] !== sizes[l]) throw new DataError(file, `tensor '${2 * l}.weight' takes ${w.shape[1]} inputs, the layer before gives ${sizes[l]}`);
    sizes.push(w.shape[0]);
  }
  if (sizes.length < 2) throw new DataError(file, "holds no '0.weight' tensor: not an MLP of nn.Sequential(Linear, ReLU, ...) names");
  return sizes;
}
