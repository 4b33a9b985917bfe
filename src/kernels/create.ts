import type { MlpLayout } from '../model/layout.js';
import { Mlp } from '../nn/mlp.js';
import type { Kernel, KernelName } from './kernel.js';
import { ParamStorage } from './param-storage.js';
import { WasmKernel, wasmParamStorage, wasmScratchBytes } from './wasm-kernel.js';

/** What a kernel instance is given: one per thread. */
export interface KernelContext {
  layout: MlpLayout;
  /** the largest chunk (rows) it will be asked for */
  maxRows: number;
  /** the shared memory holding params, data and gradient slots (a wasm kernel imports it) */
  memory: WebAssembly.Memory;
  /** this thread's own scratch bytes inside `memory`, kernelScratchBytes() long */
  scratch: Uint8Array;
}

/** Bytes of shared-memory scratch one instance of a kernel needs (the js kernel keeps its own). */
export function kernelScratchBytes(name: KernelName, layout: MlpLayout, maxRows: number): number {
  switch (name) {
    case 'js':
      return 0;
    case 'wasm':
      return wasmScratchBytes(layout, maxRows);
  }
}

export function createKernel(name: KernelName, ctx: KernelContext): Kernel {
  switch (name) {
    case 'js':
      return new Mlp(ctx.layout, ctx.maxRows);
    case 'wasm':
      return new WasmKernel(ctx);
  }
}

/**
 * How kernel `name` stores the parameters (and gradient slots, and the momentum buffer) in the shared
 * block: the wasm kernel keeps the first layer's W transposed, the js kernel the model layout.
 */
export function paramStorage(name: KernelName, layout: MlpLayout): ParamStorage {
  return name === 'wasm' ? wasmParamStorage(layout) : new ParamStorage(layout, false);
}
