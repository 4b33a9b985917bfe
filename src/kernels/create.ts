import type { Allocator, Split } from '../data/dataset.js';
import { buildNonZeroIndex } from '../data/non-zero-index.js';
import type { SlicePlan } from '../engine/work-plan.js';
import type { MlpLayout } from '../model/layout.js';
import { JsKernel } from './js-kernel.js';
import type { Kernel, KernelContext, KernelName } from './kernel.js';
import { ParamStorage } from './param-storage.js';
import { WasmKernel, wasmScratchBytes } from './wasm-kernel.js';

/** What the engine needs to know of a kernel before it makes one per thread. */
export interface KernelDefinition {
  readonly name: KernelName;
  /** how it stores the parameters (and the momentum buffer) in the shared block */
  storage(layout: MlpLayout): ParamStorage;
  /** bytes of shared scratch one instance needs (0: it keeps its own) */
  scratchBytes(storage: ParamStorage, plan: SlicePlan, maxRows: number): number;
  /**
   * The training split with whatever the kernel lists about it once, allocated with `alloc` (a split
   * that has it already, from an earlier call, is returned as it is: trainers over one dataset share it)
   */
  prepareTraining(split: Split, alloc: Allocator): Split;
  create(ctx: KernelContext): Kernel;
}

/** The reference kernel: the model layout, its own scratch, nothing to prepare. */
const js: KernelDefinition = {
  name: 'js',
  storage: (layout) => new ParamStorage(layout, { transposeFirst: false, padded: false }),
  scratchBytes: () => 0,
  prepareTraining: (split) => split,
  create: (ctx) => new JsKernel(ctx),
};

/**
 * The WebAssembly SIMD kernel: the first layer stored transposed, everything padded to whole vectors;
 * it walks each training row's non-zero inputs, listed once here (data/non-zero-index.ts: ~7.5M
 * pairs, 60 MB for MNIST's 60,000 rows, shared by every thread).
 */
const wasm: KernelDefinition = {
  name: 'wasm',
  storage: (layout) => new ParamStorage(layout, { transposeFirst: true, padded: true }),
  scratchBytes: wasmScratchBytes,
  prepareTraining: (split, alloc) => (split.nonZero ? split : { ...split, nonZero: buildNonZeroIndex(split.x, split.n, split.nIn, alloc) }),
  create: (ctx) => new WasmKernel(ctx),
};

export const KERNELS: Record<KernelName, KernelDefinition> = { js, wasm };

/** How kernel `name` stores the parameters of `layout`. */
export function paramStorage(name: KernelName, layout: MlpLayout): ParamStorage {
  return KERNELS[name].storage(layout);
}
