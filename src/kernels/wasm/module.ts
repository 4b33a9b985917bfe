import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

/** The builds of the kernel (scripts/build-wasm.mjs): plain SIMD128, or with relaxed-SIMD fused multiply-add. */
export type WasmVariant = 'simd' | 'relaxed';

const FILES: Record<WasmVariant, string> = { simd: 'kernel.wasm', relaxed: 'kernel-relaxed.wasm' };

/** What the module exports (assembly/index.ts). Addresses are byte offsets in the shared memory. */
export interface KernelExports {
  trainRows(hdr: number, lo: number, hi: number, step: number, clip: number): number;
  updateSlice(hdr: number, layer: number, s: number, lo: number, hi: number, batchRows: number, step: number): number;
  setUpdate(hdr: number, meanOver: number, lr: number, momentum: number, wd: number, noiseStd: number, seed: number, noiseStep: number): void;
  setAdamW(hdr: number, beta1: number, c1: number, beta2: number, c2: number, eps: number, stepSize: number, bc2Sqrt: number, decay: number): void;
  evaluate(hdr: number, x: number, y: number, rows: number, probs: number): number;
  checkLists(hdr: number): number;
  fieldOffset(i: number): number;
}

/**
 * The .wasm next to this file once built (dist/kernels/wasm/), or, when running from the TypeScript
 * sources (vitest runs src/), the package's dist/kernels/wasm/.
 */
function wasmPath(file: string): string {
  for (const rel of [`./${file}`, `../../../dist/kernels/wasm/${file}`]) {
    const p = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(p)) return p;
  }
  throw new Error(`the wasm kernel is not built (no ${file} in dist/kernels/wasm/): run npm run build`);
}

/** Compiled modules, one per variant per thread (a module is cheap to instantiate, slow to compile). */
const modules = new Map<WasmVariant, WebAssembly.Module | null>();

/**
 * The compiled module of `variant`, or null when this Node cannot run it (relaxed SIMD is behind a
 * flag in Node 20: it is switched on here when needed, before compiling).
 */
export function kernelModule(variant: WasmVariant): WebAssembly.Module | null {
  let m = modules.get(variant);
  if (m === undefined) {
    const bytes = readFileSync(wasmPath(FILES[variant]));
    let valid = WebAssembly.validate(bytes);
    if (!valid && variant === 'relaxed') {
      setFlagsFromString('--experimental-wasm-relaxed-simd'); // Node 20; on by default from Node 22
      valid = WebAssembly.validate(bytes);
    }
    m = valid ? new WebAssembly.Module(bytes) : null;
    modules.set(variant, m);
  }
  return m;
}

/** An instance over the shared memory: each kernel (so each thread) has its own. */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as KernelExports;
}
