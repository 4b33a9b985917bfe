import type { Split } from '../data/dataset.js';
import type { MlpLayout } from '../model/layout.js';
import type { Stats } from '../nn/types.js';
import type { SgdOptions } from '../optim/sgd.js';
import type { KernelContext } from './create.js';
import type { Kernel } from './kernel.js';
import { ParamStorage } from './param-storage.js';
import { instantiate, kernelModule, type KernelExports, type WasmVariant } from './wasm/module.js';
import { H, HEADER_BYTES, LAYER_BYTES, LAYER_WTRANS_BYTE, PATHS, wasmScratchPlan, type ScratchPlan, type WasmPath } from './wasm/plan.js';

export interface WasmKernelOptions {
  /** 'auto' (default) picks per layer and call from the input's density; tests force each path */
  path?: WasmPath;
  /** the build to run; 'relaxed' falls back to 'simd' where this Node cannot run relaxed SIMD */
  variant?: WasmVariant;
}

/**
 * How the wasm kernel stores the parameters: the first layer's W transposed (Wᵀ [pad4(nIn),
 * pad4(nOut)]), so its sparse path reads and writes rows of Wᵀ in place, with no transposes per chunk.
 */
export function wasmParamStorage(layout: MlpLayout): ParamStorage {
  return new ParamStorage(layout, true);
}

/** Bytes of shared scratch one wasm kernel needs for `layout` and chunks of up to maxRows rows. */
export function wasmScratchBytes(layout: MlpLayout, maxRows: number): number {
  return wasmScratchPlan(wasmParamStorage(layout), maxRows).bytes;
}

const STATUS_ERRORS: Record<number, string> = { 1: 'a sample id is outside the split', 2: 'a label is outside [0, nClasses)', 3: "a row's non-zero list does not fit the row" };

/**
 * The WebAssembly SIMD kernel: each gradient or evaluate is one wasm call over the shared memory
 * (assembly/index.ts), given the addresses of params, data, idx and grad. Every array it is passed must
 * be a view over ctx.memory (the arena), except `predictions`, which is copied out when it is not.
 */
export class WasmKernel implements Kernel {
  readonly name = 'wasm';
  readonly variant: WasmVariant;
  /** the parameter block, gradients and momentum buffer it takes are laid out this way */
  readonly storage: ParamStorage;
  private readonly wasm: KernelExports;
  private readonly plan: ScratchPlan;
  /** byte address of the header (the scratch start, rounded up to 64) */
  private readonly hdr: number;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly P: number;
  private readonly nIn: number;
  private readonly nClasses: number;
  private readonly maxRows: number;

  constructor(ctx: KernelContext, opts: WasmKernelOptions = {}) {
    const { layout, maxRows, memory, scratch } = ctx;
    this.storage = wasmParamStorage(layout);
    this.plan = wasmScratchPlan(this.storage, maxRows);
    if (scratch.byteLength < this.plan.bytes) throw new RangeError(`wasm kernel scratch: ${scratch.byteLength} bytes given, ${this.plan.bytes} needed`);
    if (!isShared(scratch)) throw new TypeError('wasm kernel scratch must lie in the shared memory');
    let variant = opts.variant ?? 'simd';
    let module = kernelModule(variant);
    if (module === null) {
      variant = 'simd';
      module = kernelModule(variant);
    }
    if (module === null) throw new Error('this Node cannot run the WebAssembly SIMD kernel');
    this.variant = variant;
    this.wasm = instantiate(module, memory);
    const expected = [HEADER_BYTES, LAYER_BYTES, 4 * H.loss, 4 * H.correct, 4 * H.path, 4 * H.srcStart, LAYER_WTRANS_BYTE];
    if (expected.some((v, i) => this.wasm.headerLayout(i) !== v)) throw new Error('wasm kernel: the module and plan.ts disagree on the header layout');

    this.hdr = Math.ceil(scratch.byteOffset / 64) * 64;
    const header = this.plan.header(this.hdr);
    this.i32 = new Int32Array(scratch.buffer, this.hdr, header.length);
    this.f64 = new Float64Array(scratch.buffer, this.hdr, HEADER_BYTES / 8);
    this.i32.set(header);
    this.i32[H.path] = PATHS[opts.path ?? 'auto'];
    this.P = this.storage.count;
    this.nIn = layout.sizes[0];
    this.nClasses = layout.sizes[layout.sizes.length - 1];
    this.maxRows = maxRows;
  }

  gradient(params: Float32Array, data: Split, idx: Int32Array, lo: number, hi: number, grad: Float32Array): Stats {
    const rows = this.checkRows(lo, hi, idx.length);
    this.checkData(params, data);
    if (grad.length !== this.P) throw new RangeError(`grad has ${grad.length} values, the model ${this.P}`);
    // with the split's non-zero lists, the first layer copies its rows' lists instead of scanning them
    const nz = data.nonZero;
    if (nz && (nz.start.length !== data.n + 1 || nz.start[data.n] !== nz.index.length || nz.value.length !== nz.index.length)) throw new RangeError('the split\'s non-zero index does not match its rows');
    const status = this.wasm.gradient(this.hdr, addr(params), addr(data.x), addr(data.y), data.n, addr(idx) + 4 * lo, rows, addr(grad), nz ? addr(nz.start) : 0, nz ? addr(nz.index) : 0, nz ? addr(nz.value) : 0);
    return this.stats(status);
  }

  evaluate(params: Float32Array, data: Split, lo: number, hi: number, predictions?: Float32Array): Stats {
    const rows = this.checkRows(lo, hi, data.n);
    this.checkData(params, data);
    let probs = 0;
    if (predictions) {
      if (predictions.length < rows * this.nClasses) throw new RangeError(`predictions: ${predictions.length} values for ${rows} x ${this.nClasses}`);
      probs = isShared(predictions) ? predictions.byteOffset : this.hdr + this.plan.probs;
    }
    const status = this.wasm.evaluate(this.hdr, addr(params), addr(data.x) + 4 * lo * data.nIn, addr(data.y) + 4 * lo, rows, probs);
    const stats = this.stats(status);
    if (predictions && !isShared(predictions)) predictions.set(new Float32Array(this.i32.buffer, probs, rows * this.nClasses));
    return stats;
  }

  update(o: SgdOptions, params: Float32Array, slots: Float32Array, nChunks: number, batchSize: number, buf: Float32Array | null, lo: number, hi: number): void {
    const P = params.length;
    if (lo < 0 || hi > P || lo > hi) throw new RangeError(`parameters [${lo}, ${hi}) are outside [0, ${P})`);
    if (slots.length < nChunks * P) throw new RangeError(`${nChunks} gradient slots of ${P} do not fit in ${slots.length}`);
    if (o.momentum !== 0 && (buf === null || buf.length !== P)) throw new RangeError('SGD with momentum needs a momentum buffer of the parameters\' size');
    const b = o.momentum !== 0 ? addr(buf!) : 0;
    this.wasm.sgdUpdate(addr(params), addr(slots), b, P, nChunks, batchSize, o.lr, o.momentum, o.weightDecay, lo, hi);
  }

  /** For benchmarks: re-runs one stage of layer l on the state the last call left (see assembly/index.ts). */
  stage(kind: 'forward' | 'weightGrad' | 'inputGrad', l: number, params: Float32Array, grad: Float32Array): void {
    if (kind === 'forward') this.wasm.stageForward(this.hdr, addr(params), l);
    else if (kind === 'weightGrad') this.wasm.stageWeightGrad(this.hdr, addr(grad), l);
    else this.wasm.stageInputGrad(this.hdr, addr(params), l);
  }

  private stats(status: number): Stats {
    if (status !== 0) throw new RangeError(`wasm kernel: ${STATUS_ERRORS[status] ?? `status ${status}`}`);
    return { loss: this.f64[H.loss / 2], correct: this.i32[H.correct] };
  }

  private checkRows(lo: number, hi: number, limit: number): number {
    const rows = hi - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > limit || rows < 0) throw new RangeError(`rows [${lo}, ${hi}) are outside [0, ${limit})`);
    if (rows > this.maxRows) throw new RangeError(`${rows} rows do not fit this kernel's scratch of ${this.maxRows}`);
    return rows;
  }

  private checkData(params: Float32Array, data: Split): void {
    if (params.length !== this.P) throw new RangeError(`params has ${params.length} values, the model ${this.P}`);
    if (data.nIn !== this.nIn) throw new RangeError(`the data has ${data.nIn} inputs, the model ${this.nIn}`);
    if (data.x.length < data.n * data.nIn || data.y.length < data.n) throw new RangeError('the split is shorter than its n');
  }
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** The wasm address of an array: it must be a view over the shared memory. */
function addr(a: Float32Array | Int32Array): number {
  if (!isShared(a)) throw new TypeError('the wasm kernel reads and writes only arrays in the shared memory (allocate them in the Arena)');
  return a.byteOffset;
}
