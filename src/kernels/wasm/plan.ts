import type { MlpLayout } from '../../model/layout.js';
import type { ParamStorage } from '../param-storage.js';

/**
 * Where the wasm kernel keeps its buffers inside a thread's scratch region: a header, one record per
 * linear layer, then the buffers. The records mirror the @unmanaged classes Header and Layer of
 * assembly/layout.ts word for word (4-byte words; the loader checks the sizes against the module).
 */
export const HEADER_BYTES = 64;
export const LAYER_BYTES = 64;
/** Header words (i32 index). */
export const H = { nLayers: 0, maxRows: 1, nClasses: 2, path: 3, labels: 4, rows: 5, expTmp: 6, srcIds: 7, loss: 8, correct: 10, status: 11, srcStart: 12, srcIndex: 13 } as const;
/** Layer record words (i32 index from the record's start). */
const LW = { nIn: 0, nOut: 1, sOut: 2, wOff: 3, bOff: 4, rowsTbl: 5, wt: 6, bias: 7, act: 8, dact: 9, dwt: 10, nzStart: 11, nzIdx: 12, nzVal: 13, mode: 14, wTrans: 15 } as const;

/** Byte offset of wTrans in a layer record (checked against the module). */
export const LAYER_WTRANS_BYTE = 4 * LW.wTrans;

/** The kernel's header Path values. */
export const PATHS = { auto: 0, sparse: 1, dense: 2 } as const;
export type WasmPath = keyof typeof PATHS;

const ALIGN = 64; // a cache line
const align = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;
const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

export interface ScratchPlan {
  /** bytes of scratch needed, including the slack to align its start */
  bytes: number;
  /** the header and layer records for scratch starting at byte address `base` (64-aligned) */
  header(base: number): Int32Array;
  /** offset from base of the [maxRows, nClasses] f32 area where predictions are staged when the caller's are not in shared memory */
  probs: number;
}

/**
 * The scratch layout for the model `storage` holds and chunks of up to maxRows rows (byte sizes,
 * f32/i32 elements):
 *   header, records                  64 + 64 L
 *   labels [maxRows], probs [maxRows, nClasses], expTmp [nClasses] f64
 *   per layer: rowsTbl [maxRows], wt [pad4(nIn), sOut] (l > 0: at least [nOut, pad4(nIn)] f64),
 *              bias [sOut], act, dact [maxRows, sOut], dwt [nIn, sOut],
 *              nzStart [maxRows + 1] + flags [ceil(nIn / 4)], nzIdx, nzVal [maxRows * nIn]
 */
export function wasmScratchPlan(storage: ParamStorage, maxRows: number): ScratchPlan {
  const layout: MlpLayout = storage.layout;
  const L = layout.linears.length;
  const nClasses = layout.sizes[L];
  let used = align(HEADER_BYTES + L * LAYER_BYTES);
  const take = (elements: number): number => {
    const at = used;
    used += align(4 * Math.max(1, elements));
    return at;
  };
  const labels = take(maxRows);
  const expTmp = take(2 * nClasses);
  const probs = take(maxRows * nClasses);
  const layers = layout.linears.map((s, l) => {
    const sOut = pad4(s.nOut);
    return {
      nIn: s.nIn,
      nOut: s.nOut,
      sOut,
      wOff: 4 * storage.linears[l].weight,
      bOff: 4 * storage.linears[l].bias,
      wTrans: storage.linears[l].transposed ? 1 : 0,
      rowsTbl: take(maxRows),
      // for l > 0 also the input gradient's float64 copy of W, [nOut, pad4(nIn)]
      wt: take(Math.max(pad4(s.nIn) * sOut, l > 0 ? 2 * s.nOut * pad4(s.nIn) : 0)),
      bias: take(sOut),
      act: take(maxRows * sOut),
      dact: take(maxRows * sOut),
      dwt: take(s.nIn * sOut),
      nzStart: take(maxRows + 1 + Math.ceil(s.nIn / 4)), // then the used-group flags
      nzIdx: take(maxRows * s.nIn),
      nzVal: take(maxRows * s.nIn),
    };
  });
  const bytes = used + ALIGN; // slack: the start is rounded up to a cache line

  return {
    bytes,
    probs,
    header(base: number): Int32Array {
      const w = new Int32Array((HEADER_BYTES + L * LAYER_BYTES) / 4);
      w[H.nLayers] = L;
      w[H.maxRows] = maxRows;
      w[H.nClasses] = nClasses;
      w[H.path] = PATHS.auto;
      w[H.labels] = base + labels;
      w[H.expTmp] = base + expTmp;
      layers.forEach((r, l) => {
        const o = (HEADER_BYTES + l * LAYER_BYTES) / 4;
        w[o + LW.nIn] = r.nIn;
        w[o + LW.nOut] = r.nOut;
        w[o + LW.sOut] = r.sOut;
        w[o + LW.wOff] = r.wOff;
        w[o + LW.bOff] = r.bOff;
        w[o + LW.wTrans] = r.wTrans;
        for (const key of ['rowsTbl', 'wt', 'bias', 'act', 'dact', 'dwt', 'nzStart', 'nzIdx', 'nzVal'] as const) w[o + LW[key]] = base + r[key];
      });
      return w;
    },
  };
}
