import type { MlpLayout } from '../model/layout.js';

/** Where one linear layer's tensors lie in a kernel's stored parameter block (element offsets). */
export interface StoredLinear {
  weight: number;
  bias: number;
  /**
   * false: W [nOut, nIn] as in the model layout. true: W transposed and zero-padded,
   * Wᵀ [pad4(nIn), pad4(nOut)], so that each input k owns one aligned row Wᵀ[k, :].
   */
  transposed: boolean;
}

const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

/**
 * How a kernel keeps the parameters in the shared block. The model layout (src/model/layout.ts,
 * PyTorch's state_dict) is what checkpoints, initialisation and users see; a kernel may store a
 * tensor its own way when that saves it work on every call. The wasm kernel keeps the first
 * layer's W transposed: its sparse path walks the non-zero pixels k and reads or writes the row
 * Wᵀ[k, :] of each, and with W stored that way it transposes nothing per chunk.
 *
 * The gradient slots and the momentum buffer use the same storage, so the SGD update (element by
 * element) is the same whatever the storage; padding stays zero (its gradient is zero).
 */
export class ParamStorage {
  /** floats in the stored block */
  readonly count: number;
  readonly linears: StoredLinear[];

  constructor(
    readonly layout: MlpLayout,
    /** store the first layer's W transposed (the wasm kernel) */
    transposeFirst: boolean,
  ) {
    let offset = 0;
    this.linears = layout.linears.map((s, l) => {
      const transposed = transposeFirst && l === 0;
      const weight = offset;
      offset += transposed ? pad4(s.nIn) * pad4(s.nOut) : s.weight.length;
      const bias = offset;
      offset += s.bias.length;
      return { weight, bias, transposed };
    });
    this.count = offset;
  }

  /** stored := the parameters in `model` (model layout), padding zeroed.   model: [layout.count], stored: [count] */
  store(model: Float32Array, stored: Float32Array): void {
    this.check(model, stored);
    this.layout.linears.forEach((s, l) => {
      const t = this.linears[l];
      if (t.transposed) {
        const sOut = pad4(s.nOut);
        const wt = stored.subarray(t.weight, t.bias);
        wt.fill(0);
        // Wᵀ[k, j] = W[j, k]
        for (let j = 0; j < s.nOut; j++) for (let k = 0; k < s.nIn; k++) wt[k * sOut + j] = model[s.weight.offset + j * s.nIn + k];
      } else {
        stored.set(model.subarray(s.weight.offset, s.weight.offset + s.weight.length), t.weight);
      }
      stored.set(model.subarray(s.bias.offset, s.bias.offset + s.bias.length), t.bias);
    });
  }

  /** model := the parameters held in `stored`.   stored: [count], model: [layout.count] */
  load(stored: Float32Array, model: Float32Array): void {
    this.check(model, stored);
    this.layout.linears.forEach((s, l) => {
      const t = this.linears[l];
      if (t.transposed) {
        const sOut = pad4(s.nOut);
        for (let j = 0; j < s.nOut; j++) for (let k = 0; k < s.nIn; k++) model[s.weight.offset + j * s.nIn + k] = stored[t.weight + k * sOut + j];
      } else {
        model.set(stored.subarray(t.weight, t.weight + s.weight.length), s.weight.offset);
      }
      model.set(stored.subarray(t.bias, t.bias + s.bias.length), s.bias.offset);
    });
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
