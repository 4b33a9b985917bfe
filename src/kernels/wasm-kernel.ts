import type { Split } from '../data/dataset.js';
import type { SlicePlan } from '../engine/work-plan.js';
import type { Stats } from '../nn/types.js';
import { adamwScalars } from '../optim/adamw.js';
import type { UpdateOptions } from '../optim/sgd.js';
import type { Kernel, KernelContext, StepViews } from './kernel.js';
import type { ParamStorage } from './param-storage.js';
import { instantiate, kernelModule, type KernelExports, type WasmVariant } from './wasm/module.js';
import { expectedOffsets, HEADER, HEADER_FIELDS, LAYER, LAYER_FIELDS, wasmScratchPlan, type HeaderField, type LayerField, type ScratchPlan } from './wasm/plan.js';

export interface WasmKernelOptions {
  /** the build to run; 'relaxed' falls back to 'simd' where this Node cannot run relaxed SIMD */
  variant?: WasmVariant;
}

/** Rows of predictions one call can stage in scratch when the caller's array is not shared. */
const STAGED_PROB_ROWS = 500;

/** Bytes of shared scratch one wasm kernel needs for `storage` and `plan`. */
export function wasmScratchBytes(storage: ParamStorage, plan: SlicePlan, maxRows: number): number {
  return wasmScratchPlan(storage, plan, Math.min(maxRows, STAGED_PROB_ROWS)).bytes;
}

/** Header fields the module writes (a call's results); the others are written once, here. */
type InputField = Exclude<HeaderField, 'loss' | 'correct' | 'status' | 'predicted'>;

/** The module's Status values (assembly/layout.ts), by name. */
enum Status {
  Ok = 0,
  BadIndex = 1,
  BadLabel = 2,
  BadList = 3,
}
const STATUS_ERRORS: Record<Exclude<keyof typeof Status, 'Ok'>, string> = {
  BadIndex: 'a sample id is outside the split',
  BadLabel: 'a label is outside [0, nClasses)',
  BadList: "a row's non-zero list does not fit the row (the split's non-zero index does not describe it)",
};

/**
 * The WebAssembly SIMD kernel: each call is one wasm call over the shared memory (assembly/index.ts);
 * the addresses of everything it reads and writes are in its header, written here once. Every
 * array it is given must be a view over ctx.memory (the arena), except `predictions`, which is
 * copied out when it is not.
 */
export class WasmKernel implements Kernel {
  readonly name = 'wasm';
  readonly variant: WasmVariant;
  private readonly wasm: KernelExports;
  private readonly plan: ScratchPlan;
  private readonly step: StepViews;
  /** byte address of the header (the scratch start, rounded up to 64) */
  private readonly hdr: number;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly nIn: number;
  private readonly nClasses: number;
  private readonly maxBatch: number;

  constructor(ctx: KernelContext, opts: WasmKernelOptions = {}) {
    const { layout, storage, step, memory, scratch } = ctx;
    if (!storage.linears[0].transposed || !storage.options.padded) throw new Error('the wasm kernel needs its own storage: the first layer transposed, every tensor padded');
    this.plan = wasmScratchPlan(storage, step.plan, Math.min(ctx.maxRows, STAGED_PROB_ROWS));
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
    const expected = expectedOffsets();
    const names = [...HEADER_FIELDS.map(([f]) => `Header.${f}`), ...LAYER_FIELDS.map(([f]) => `Layer.${f}`), 'sizeof Header', 'sizeof Layer', 'sizeof Sgd'];
    for (let i = 0; i < expected.length; i++) {
      if (this.wasm.fieldOffset(i) !== expected[i]) throw new Error(`wasm kernel: the module puts ${names[i]} at ${this.wasm.fieldOffset(i)}, plan.ts at ${expected[i]}`);
    }
    this.step = step;
    this.nIn = layout.nIn;
    this.nClasses = layout.nClasses;
    this.maxBatch = step.batch.length;
    this.hdr = Math.ceil(scratch.byteOffset / 64) * 64;
    this.i32 = new Int32Array(scratch.buffer, this.hdr, (HEADER.bytes + layout.linears.length * LAYER.bytes) / 4);
    this.f64 = new Float64Array(scratch.buffer, this.hdr, 1);
    this.i32.fill(0);
    this.writeHeader(storage);
    if (step.train) this.check(this.wasm.checkLists(this.hdr));
  }

  /** Every address and size the module reads, once: they never move. */
  private writeHeader(storage: ParamStorage): void {
    const { step, plan, hdr } = this;
    const { factors, train } = step;
    const nz = train?.nonZero;
    if (train) {
      if (!nz) throw new Error('the wasm kernel trains from the split\'s non-zero lists: give it the split its prepareTraining returns');
      if (nz.start.length !== train.n + 1 || nz.start[train.n] !== nz.index.length || nz.value.length !== nz.index.length) throw new RangeError("the split's non-zero index does not match its rows");
      if (train.nIn !== this.nIn) throw new RangeError(`the data has ${train.nIn} inputs, the model ${this.nIn}`);
    }
    const bounds = step.plan.firstLayerBounds;
    if (factors.cutStride !== bounds.length) throw new RangeError('the list cuts do not match the slice plan');
    // every field the module reads, by name (the type asks for all of them: none can be forgotten)
    const fields: Record<InputField, number> = {
      nLayers: storage.layout.linears.length,
      nClasses: this.nClasses,
      params: addr(step.params),
      momentum: step.momentum ? addr(step.momentum) : 0,
      variance: step.variance ? addr(step.variance) : 0,
      ids: addr(step.batch),
      y: train ? addr(train.y) : 0,
      n: train ? train.n : 0,
      nzStart: nz ? addr(nz.start) : 0,
      nzIndex: nz ? addr(nz.index) : 0,
      nzValue: nz ? addr(nz.value) : 0,
      nzCount: nz ? nz.index.length : 0,
      rowLoss: addr(factors.loss),
      rowCorrect: addr(factors.correct),
      rowReady: addr(factors.ready),
      rowNorm: addr(factors.norm),
      listCuts: factors.listCuts ? addr(factors.listCuts) : 0,
      cutStride: factors.cutStride,
      bounds: hdr + plan.bounds,
      sliceOf: hdr + plan.sliceOf,
      acc: hdr + plan.acc,
      sgd: hdr + plan.sgd,
      noiseTmp: hdr + plan.noiseTmp,
      expTmp: hdr + plan.expTmp,
      logits: hdr + plan.logits,
      listIdx: hdr + plan.listIdx,
      listVal: hdr + plan.listVal,
    };
    for (const [f, v] of Object.entries(fields) as [InputField, number][]) this.i32[HEADER.at[f] / 4] = v;
    new Int32Array(this.i32.buffer, hdr + plan.bounds, bounds.length).set(bounds);
    const sliceOf = new Int32Array(this.i32.buffer, hdr + plan.sliceOf, this.nIn);
    for (let s = 0; s + 1 < bounds.length; s++) sliceOf.fill(s, bounds[s], bounds[s + 1]);
    storage.layout.linears.forEach((s, l) => {
      const t = storage.linears[l];
      const layer: Record<LayerField, number> = {
        nIn: s.nIn,
        nOut: s.nOut,
        sIn: l === 0 ? t.rows : t.stride,
        sOut: t.biasLength,
        w: 4 * t.weight,
        b: 4 * t.bias,
        inputs: addr(factors.inputs[l]),
        douts: addr(factors.douts[l]),
        row: hdr + plan.rows[l],
      };
      for (const [f, v] of Object.entries(layer) as [LayerField, number][]) this.i32[(HEADER.bytes + l * LAYER.bytes + LAYER.at[f]) / 4] = v;
    });
  }

  trainRows(lo: number, hi: number, step: number, clip = 0): void {
    if (!(lo >= 0 && hi <= this.maxBatch && lo <= hi)) throw new RangeError(`batch rows [${lo}, ${hi}) are outside [0, ${this.maxBatch})`);
    if (this.step.train === null) throw new Error('this kernel was made without a training split');
    this.check(this.wasm.trainRows(this.hdr, lo, hi, step, clip));
  }

  updateSlice(s: number, batchRows: number, o: UpdateOptions, step: number): boolean {
    const slice = this.step.plan.slices[s];
    if (!slice) throw new RangeError(`no slice ${s}`);
    if (!(batchRows >= 0 && batchRows <= this.maxBatch)) throw new RangeError(`${batchRows} batch rows; the factors hold 0 to ${this.maxBatch}`);
    if (o.momentum !== 0 && this.step.momentum === null) throw new Error('SGD with momentum needs a momentum buffer');
    this.wasm.setUpdate(this.hdr, o.meanOver, o.lr, o.momentum, o.weightDecay, o.noiseStd, o.noiseSeed, o.noiseStep);
    const a = o.adamw;
    if (a) {
      if (this.step.momentum === null || this.step.variance === null) throw new Error('AdamW needs its two moment buffers');
      const s = adamwScalars(o.lr, o.weightDecay, a);
      this.wasm.setAdamW(this.hdr, a.beta1, 1 - a.beta1, a.beta2, 1 - a.beta2, a.eps, s.stepSize, s.bc2Sqrt, s.decay);
    }
    return this.wasm.updateSlice(this.hdr, slice.layer, slice.part, slice.lo, slice.hi, batchRows, step) !== 0;
  }

  evaluate(split: Split, lo: number, hi: number, predictions?: Float32Array): Stats {
    const rows = hi - lo;
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 0 || hi > split.n || rows < 0) throw new RangeError(`rows [${lo}, ${hi}) are outside [0, ${split.n})`);
    if (split.nIn !== this.nIn) throw new RangeError(`the data has ${split.nIn} inputs, the model ${this.nIn}`);
    if (split.x.length < split.n * split.nIn || split.y.length < split.n) throw new RangeError('the split is shorter than its n');
    let probs = 0;
    if (predictions) {
      if (predictions.length < rows * this.nClasses) throw new RangeError(`predictions: ${predictions.length} values for ${rows} x ${this.nClasses}`);
      if (!isShared(predictions) && rows > this.plan.probRows) throw new RangeError(`${rows} rows of predictions outside the shared memory; at most ${this.plan.probRows}`);
      probs = isShared(predictions) ? predictions.byteOffset : this.hdr + this.plan.probs;
    }
    this.check(this.wasm.evaluate(this.hdr, addr(split.x) + 4 * lo * split.nIn, addr(split.y) + 4 * lo, rows, probs));
    if (predictions && !isShared(predictions)) predictions.set(new Float32Array(this.i32.buffer, probs, rows * this.nClasses));
    return { loss: this.f64[HEADER.at.loss / 8], correct: this.i32[HEADER.at.correct / 4] };
  }

  private check(status: number): void {
    if (status === Status.Ok) return;
    const name = Status[status] as keyof typeof STATUS_ERRORS | undefined;
    throw new RangeError(`wasm kernel: ${name ? STATUS_ERRORS[name] : `status ${status}`}`);
  }
}

function isShared(a: ArrayBufferView): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** The wasm address of an array: it must be a view over the shared memory. */
function addr(a: Float32Array | Int32Array | Float64Array): number {
  if (!isShared(a)) throw new TypeError('the wasm kernel reads and writes only arrays in the shared memory (allocate them in the Arena)');
  return a.byteOffset;
}
