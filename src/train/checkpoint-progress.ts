import { DataError } from '../errors.js';
import type { FitProgress } from './fit.js';
import { RecordedFields } from './recorded-fields.js';
import { RandomSampler } from './sampler.js';

const PROGRESS_KEYS: readonly (keyof FitProgress)[] = ['epoch', 'batch', 'steps', 'lossSum', 'correct', 'seen', 'samplerState', 'gradNorms'];

/** The words of a shuffling sampler's state (its generator's), which a checkpoint records to go on with the same order. */
const SAMPLER_STATE_WORDS = new RandomSampler(0, 0).getState().length;

/** base64 as Buffer writes it: whole groups of 4, padded; Buffer.from would skip any other character without a word. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A checkpoint's recorded progress (the JSON text of its `progress` metadata): each field by type and
 * range, and the fields against each other as the training loop keeps them (a step adds one to both
 * `batch` and `steps`; an epoch's end sets `batch`, `seen`, `correct` and `lossSum` to 0 and empties
 * the gradient norms, which gain one value per row seen). Any problem is a DataError naming the file
 * and the field.
 */
export function recordedProgress(text: string, file: string): FitProgress {
  const fail = (problem: string) => new DataError(file, `its recorded progress is not valid: ${problem}`);
  const f = RecordedFields.parse(text, fail, 'it is not JSON', PROGRESS_KEYS);
  const p: FitProgress = {
    epoch: f.int('epoch', 1),
    batch: f.int('batch', 0),
    steps: f.int('steps', 0),
    lossSum: f.number('lossSum', 'a number >= 0 (a sum of losses)', { min: 0 }),
    correct: f.int('correct', 0),
    seen: f.int('seen', 0),
    samplerState: samplerState(f),
    gradNorms: f.orElse('gradNorms', (k) => gradNorms(f, k), undefined),
  };
  if (p.batch > p.steps) throw fail(`batch is ${p.batch}, more than the ${p.steps} steps in all`);
  if (p.correct > p.seen) throw fail(`correct is ${p.correct}, more than the ${p.seen} rows seen`);
  if (p.batch === 0 && p.seen > 0) throw fail(`seen is ${p.seen} at batch 0: no rows are seen before the epoch's first batch`);
  if (p.seen === 0 && (p.lossSum !== 0 || p.correct !== 0)) throw fail(`seen is 0, but lossSum is ${p.lossSum} and correct ${p.correct}`);
  // Older checkpoints have no norms (a resumed epoch then reports those after the resume); a list has one per row.
  if (p.gradNorms !== undefined && p.gradNorms.length !== p.seen) throw fail(`gradNorms holds ${p.gradNorms.length} values, but seen is ${p.seen} (one per row)`);
  return p;
}

/** null (no shuffling sampler, or none started), or the generator's words: uint32, not all zero (xoshiro's one forbidden state). */
function samplerState(f: RecordedFields): number[] | null {
  const v = f.value('samplerState');
  if (v === null) return null;
  const ok = Array.isArray(v) && v.length === SAMPLER_STATE_WORDS && v.every((w) => Number.isSafeInteger(w) && w >= 0 && w <= 0xffffffff) && v.some((w) => w !== 0);
  if (!ok) throw f.bad('samplerState', `null or ${SAMPLER_STATE_WORDS} integers from 0 to 4294967295, not all 0`, v);
  return v as number[];
}

/** The per-sample gradient norms so far: base64 of float32 bytes, each a norm (finite, >= 0); '' for none. */
function gradNorms(f: RecordedFields, key: string): Float32Array | undefined {
  const v = f.value(key);
  if (typeof v !== 'string' || !BASE64.test(v)) throw f.bad(key, 'base64 of float32 values', v);
  if (v === '') return undefined;
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length % 4 !== 0) throw f.error(`${key} holds ${bytes.length} bytes, not a whole number of float32 values`);
  const norms = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const i = norms.findIndex((x) => !(Number.isFinite(x) && x >= 0));
  if (i >= 0) throw f.error(`${key} holds ${norms[i]} at value ${i}; a gradient norm is finite and >= 0`);
  return norms;
}
