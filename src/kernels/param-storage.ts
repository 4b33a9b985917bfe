import type { MlpLayout } from '../model/layout.js';

/** Where one linear layer's tensors lie in a kernel's stored parameter block (element offsets). */
export interface StoredLinear {
  weight: number;
  bias: number;
  /**
   * false: W as the model holds it, [nOut, nIn] (padded: [pad4(nOut), pad4(nIn)]).
   * true: W transposed, Wᵀ [nIn, nOut] (padded: [pad4(nIn), pad4(nOut)]), so that input k owns the row Wᵀ[k, :].
   */
  transposed: boolean;
  /** rows of the stored weight (input units if transposed, else output units), padding included */
  rows: number;
  /** floats from one stored weight row to the next */
  stride: number;
  /** floats the bias takes: nOut, or pad4(nOut) when padded */
  biasLength: number;
}

/** How a kernel lays out its parameter block. */
export interface StorageOptions {
  /** store the first layer's W transposed */
  transposeFirst: boolean;
  /** pad every row and bias to a multiple of 4 floats (zeros) and start every tensor on a 64-byte line */
  padded: boolean;
}

export const pad4 = (n: number): number => Math.ceil(n / 4) * 4;
const LINE_FLOATS = 16; // 64 bytes

/**
 * How a kernel keeps the parameters in the shared block. The model layout (src/model/layout.ts,
 * PyTorch's state_dict) is what checkpoints, initialisation and users see; a kernel may store a
 * tensor its own way when that saves it work on every call. The wasm kernel keeps the first
 * layer's W transposed (its rows pass walks each input's non-zero pixels k and reads the row
 * Wᵀ[k, :] of each; its slices pass adds into those rows), and pads every tensor to whole SIMD
 * vectors on whole cache lines, so no loop has a tail and no two slices share a line.
 *
 * The momentum buffer uses the same storage, so the SGD update (element by element) is the same
 * whatever the storage; padding stays zero (its gradient is zero).
 */
export class ParamStorage {
  /** floats in the stored block */
  readonly count: number;
  readonly linears: StoredLinear[];

  constructor(
    readonly layout: MlpLayout,
    readonly options: StorageOptions,
  ) {
    const { transposeFirst, padded } = options;
    const size = (n: number) => (padded ? pad4(n) : n);
    const start = (offset: number) => (padded ? Math.ceil(offset / LINE_FLOATS) * LINE_FLOATS : offset);
    let offset = 0;
    this.linears = layout.linears.map((s, l) => {
      const transposed = transposeFirst && l === 0;
      const rows = size(transposed ? s.nIn : s.nOut);
      const stride = size(transposed ? s.nOut : s.nIn);
      const weight = start(offset);
      const bias = start(weight + rows * stride);
      const biasLength = size(s.nOut);
      offset = bias + biasLength;
      return { weight, bias, transposed, rows, stride, biasLength };
    });
    this.count = start(offset);
  }

  /** stored := the parameters in `model` (model layout), padding zeroed.   model: [layout.count], stored: [count] */
  store(model: Float32Array, stored: Float32Array): void {
    this.check(model, stored);
    stored.fill(0);
    this.layout.linears.forEach((s, l) => {
      const t = this.linears[l];
      for (let j = 0; j < s.nOut; j++) {
        for (let k = 0; k < s.nIn; k++) stored[this.weightAt(l, j, k)] = model[s.weight.offset + j * s.nIn + k];
      }
      stored.set(model.subarray(s.bias.offset, s.bias.offset + s.bias.length), t.bias);
    });
  }

  /** model := the parameters held in `stored`.   stored: [count], model: [layout.count] */
  load(stored: Float32Array, model: Float32Array): void {
    this.check(model, stored);
    this.layout.linears.forEach((s, l) => {
      const t = this.linears[l];
      for (let j = 0; j < s.nOut; j++) {
        for (let k = 0; k < s.nIn; k++) model[s.weight.offset + j * s.nIn + k] = stored[this.weightAt(l, j, k)];
      }
      model.set(stored.subarray(t.bias, t.bias + s.nOut), s.bias.offset);
    });
  }

  /** The stored position of W[j, k] of layer l. */
  weightAt(l: number, j: number, k: number): number {
    const t = this.linears[l];
    return t.weight + (t.transposed ? k * t.stride + j : j * t.stride + k);
  }

  /** The parameters of `stored` in the model layout, as a new array. */
  toModel(stored: Float32Array): Float32Array {
    const model = new Float32Array(this.layout.count);
    this.load(stored, model);
    return model;
  }

  private check(model: Float32Array, stored: Float32Array): void {
    if (model.length !== this.layout.count) throw new RangeError(`${model.length} parameters given, the model has ${this.layout.count}`);
    if (stored.length !== this.count) throw new RangeError(`a stored block of ${stored.length} floats, the storage has ${this.count}`);
  }
}
