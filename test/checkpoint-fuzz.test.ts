import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hiddenOf } from '../src/cli/init-from.js';
import { UserError } from '../src/errors.js';
import { checkpointSizes, readSafetensors, readWeights } from '../src/io/load-weights.js';
import { mlpLayout, mlpSizes } from '../src/model/layout.js';
import { Rng } from '../src/rng.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { ROOT, runCli, type CliResult } from './helpers/cli.js';

// Seeded mutations of real checkpoints (their JSON header, the settings and progress inside it, and
// their bytes), each read by the three consumers of a checkpoint: eval --model, train --init-from and
// train --resume. Every mutation goes through the library functions those commands call; a seeded
// subset goes through the commands themselves. Each must succeed, or end in one line naming the
// problem with exit code 1 or 2, within CASE_MS, and never with a stack trace.
// CHECKPOINT_FUZZ_SEED=<n> runs another sequence; a failure message names the seed and the mutation.
const SEED = Number(process.env.CHECKPOINT_FUZZ_SEED ?? 20240611);
const MUTATIONS = 600;
const CLI_RUNS_PER_CONSUMER = 40;
const CONCURRENT_CLIS = 3;
const CASE_MS = 5000;
const FIXTURE = join(ROOT, 'test/fixtures/idx'); // 784 inputs, 10 classes, 100 training rows: the commands start fast on it

const dir = mkdtempSync(join(tmpdir(), 'mlp-ckpt-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Header = Record<string, Json>;

interface Base {
  name: string;
  header: Header;
  /** the data section: every tensor's bytes */
  data: Uint8Array;
}

/**
 * Three runs' checkpoints, so that the optimizer's tensors and a mid-epoch progress are there to
 * mutate. Each stops before its planned end (10 steps an epoch), so that --resume goes on from it.
 */
const RUNS: Record<string, string[]> = {
  sgd: ['--epochs', '2', '--steps', '10'],
  'momentum-mid-epoch': ['--epochs', '1', '--momentum', '0.9', '--steps', '5'],
  adamw: ['--epochs', '2', '--opt', 'adamw', '--schedule', 'onecycle', '--steps', '10'],
};
const bases: Base[] = [];

beforeAll(async () => {
  for (const [name, extra] of Object.entries(RUNS)) {
    const file = join(dir, `${name}.safetensors`);
    const r = await runCli('train.js', ['--threads', '1', '--train-rows', '500', '--valid-rows', '100', '--save', file, ...extra]);
    expect(r.code, r.stderr).toBe(0);
    const bytes = readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    bases.push({ name, header: JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')), data: bytes.subarray(8 + n) });
  }
});

/** A JSON number text that JSON.stringify cannot write (1e400 parses as Infinity): stands in a value until the text is written. */
const raw = (text: string) => `@@raw:${text}@@`;
const unraw = (json: string) => json.replace(/"@@raw:([^@]*)@@"/g, '$1');
const write = (v: unknown) => unraw(JSON.stringify(v));

/** Values of the wrong type or range, for any field. */
const JUNK: Json[] = [
  0, -1, 1, 2, 0.5, -0.5, 1.5, 1e308, -1e308, 2 ** 53, 2 ** 53 + 2, 2 ** 32, 1e-300, 'abc', '', 'NaN', 'Infinity', '-1', '1', null, true, false, [], {}, [1], [1, 2, 3, 4],
  { a: 1 }, 'gpu', 'adamw', 'js', 'poisson', 'cosine', 'test', 'line\nbreak', raw('1e400'), raw('-1e400'), raw('-0'), raw('1e-400'), raw('123456789012345678901234567890'),
];

/** Values a run could have had, for each setting: a file that passes the checks then runs on them. */
const SETTING_VALUES: Record<string, Json[]> = {
  epochs: [1, 2, 3],
  bs: [1, 7, 64, 500, 100000],
  lr: [0.01, 0.5, 1e-6, 1e6],
  momentum: [0, 0.5, 1],
  wd: [0, 0.1],
  hidden: [[50], [60], [50, 10]],
  seed: [1, 4294967295],
  init: ['normal'],
  kernel: ['js'],
  shuffle: [false, true],
  data: ['/nonexistent/mnist', FIXTURE],
  validSplit: ['test'],
  trainRows: [1, 50, 100000],
  validRows: [1, 20],
  clip: [0, 1, 0.1],
  noise: [0, 1],
  sampling: ['poisson', 'uniform'],
  delta: [1e-6, 0.5],
  targetEpsilon: [3],
  opt: ['sgd', 'adamw'],
  schedule: ['onecycle', 'cosine', 'constant'],
  warmup: [0, 2, 1000000],
};
const PROGRESS_VALUES: Record<string, Json[]> = {
  epoch: [1, 2, 3, 100],
  batch: [0, 1, 5, 9],
  steps: [0, 5, 10, 11, 1000],
  lossSum: [0, 12.5, 1e300],
  correct: [0, 3, 250],
  seen: [0, 250, 500],
  samplerState: [null, [1, 2, 3, 4], [4294967295, 0, 0, 0], [1, 2, 3], [1, 2, 3, 4, 5], [0, 0, 0, 0], [-1, 2, 3, 4], [1.5, 2, 3, 4]],
  gradNorms: ['', 'AAAA', 'AACAfw==', 'AADAfw==', '!!!!', 'AAA', Buffer.from(new Float32Array(250).fill(0.5).buffer).toString('base64')],
};

const DTYPES: Json[] = ['F16', 'BF16', 'F64', 'I64', 'U8', 'BOOL', 'f32', 'F32 ', '', 'Q7\n', 7, null];

interface Mutation {
  index: number;
  base: string;
  /** what was done, in order: the failure message repeats it */
  steps: string[];
  bytes: Uint8Array;
}

/** One mutation of the header object; returns what it did. */
type HeaderEdit = (h: Header, rng: Rng) => string;

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.below(xs.length)];
const tensorNames = (h: Header) => Object.keys(h).filter((k) => k !== '__metadata__');
const meta = (h: Header): Record<string, Json> | null => (typeof h.__metadata__ === 'object' && h.__metadata__ !== null && !Array.isArray(h.__metadata__) ? h.__metadata__ : null);

/** Edits one field of the JSON object that a metadata entry (settings or progress) holds as text. */
function editRecorded(key: 'settings' | 'progress', values: Record<string, Json[]>): HeaderEdit {
  return (h, rng) => {
    const m = meta(h);
    let record: Record<string, Json>;
    try {
      record = JSON.parse(String(m?.[key]));
    } catch {
      return `${key}: not JSON, left`;
    }
    if (typeof record !== 'object' || record === null) return `${key}: not an object, left`;
    const field = pick(rng, Object.keys(values));
    const r = rng.uniform();
    let did: string;
    if (r < 0.1) {
      delete record[field];
      did = `delete ${field}`;
    } else if (r < 0.15) {
      record.threads = 1_000_000;
      did = 'add threads: 1000000';
    } else if (r < 0.2) {
      m![key] = pick(rng, ['', 'null', '[]', '42', '{', '"text"', '{"epoch":1}']);
      return `${key} = ${JSON.stringify(m![key])}`;
    } else {
      const v = r < 0.6 ? pick(rng, values[field]) : pick(rng, JUNK);
      record[field] = v;
      did = `${field} = ${write(v)}`;
    }
    m![key] = write(record);
    return `${key}: ${did}`;
  };
}

/** Sets a header key as an own property, also "__proto__" (which plain assignment would take as the prototype). */
const setKey = (h: Header, key: string, value: Json) => Object.defineProperty(h, key, { value, enumerable: true, configurable: true, writable: true });

const editTensor: HeaderEdit = (h, rng) => {
  const names = tensorNames(h);
  if (names.length === 0) {
    h['0.weight'] = { dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] };
    return 'add 0.weight';
  }
  const name = pick(rng, names);
  const entry = h[name];
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    h[name] = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };
    return `tensor ${JSON.stringify(name)}: a new entry`;
  }
  const e = entry;
  const other = h[pick(rng, names)] as Record<string, Json>;
  const [begin, end] = (Array.isArray(e.data_offsets) ? e.data_offsets : [0, 0]).map((x) => Number(x) || 0);
  const edits: [string, () => void][] = [
    ['delete it', () => delete h[name]],
    [
      'rename it',
      () => {
        delete h[name];
        h[`${name}.x`] = e;
      },
    ],
    ['replace the entry', () => (h[name] = pick(rng, JUNK))],
    ['dtype', () => (e.dtype = pick(rng, DTYPES))],
    ['delete dtype', () => delete e.dtype],
    ['shape junk', () => (e.shape = pick(rng, JUNK))],
    ['shape', () => (e.shape = pick(rng, [[100000, 100000], [], [0], [0, 784], [-50, 784], [50.5, 784], [2 ** 40, 2 ** 40], [2 ** 53, 2], ['50', 784], [[50], 784], [784, 50], [1, 50, 784], [10, 5], [50], raw('[1e400, 1]')]))],
    ['offsets junk', () => (e.data_offsets = pick(rng, JUNK))],
    ['offsets', () => (e.data_offsets = pick(rng, [[end, begin], [begin + 4, end + 4], [begin, end + 1e9], [0, end - begin], [-4, end], [begin + 0.5, end], [begin, end, 0], [String(begin), end], [begin, 2 ** 64]]))],
    ['offsets of another tensor', () => (e.data_offsets = other?.data_offsets ?? null)],
    ['shape of another tensor', () => (e.shape = other?.shape ?? null)],
    ['add a tensor', () => setKey(h, pick(rng, ['4.weight', '4.bias', 'optim.0.weight.exp_avg', 'extra', '__proto__']), { dtype: 'F32', shape: [1], data_offsets: [end, end + 4] })],
    ['add an empty tensor', () => (h.empty = { dtype: 'F32', shape: [0], data_offsets: [begin, begin] })],
  ];
  const [what, edit] = pick(rng, edits);
  edit();
  return `tensor ${JSON.stringify(name)}: ${what}`;
};

const editMetadata: HeaderEdit = (h, rng) => {
  const m = meta(h);
  const r = rng.uniform();
  if (r < 0.15 || m === null) {
    h.__metadata__ = pick<Json>(rng, [null, [], 5, 'x', { a: 1 }, {}]);
    return `__metadata__ = ${JSON.stringify(h.__metadata__)}`;
  }
  const key = pick(rng, ['format', 'checkpoint', 'sizes', 'settings', 'progress', 'epoch', 'step', 'seed', 'data']);
  if (r < 0.4) {
    delete m[key];
    return `metadata: delete ${key}`;
  }
  if (r < 0.55) {
    m[key] = pick(rng, JUNK);
    return `metadata: ${key} = ${write(m[key])}`;
  }
  m.sizes = pick(rng, ['[784,50]', '[784,60,10]', '[784,50,10,1]', 'x', '[1e400]', '[784,1000000,10]', '[784,50,10]', '[10,50,784]', '[]', '{}', '[784,0,10]']);
  return `metadata: sizes = ${m.sizes}`;
};

const HEADER_EDITS: [number, HeaderEdit][] = [
  [30, editRecorded('settings', SETTING_VALUES)],
  [22, editRecorded('progress', PROGRESS_VALUES)],
  [24, editTensor],
  [12, editMetadata],
];

function encode(h: Header, data: Uint8Array): Uint8Array {
  const head = Buffer.from(write(h), 'utf8');
  const out = Buffer.alloc(8 + head.length + data.length);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  out.set(data, 8 + head.length);
  return out;
}

/** One mutation of the file's bytes; returns what it did. */
function editBytes(b: Uint8Array, rng: Rng): [Uint8Array, string] {
  const n = Number(Buffer.from(b.buffer, b.byteOffset, 8).readBigUInt64LE(0));
  const c = b.slice();
  switch (rng.below(6)) {
    case 0: {
      const at = pick(rng, [0, 4, 7, 8 + rng.below(n), 8 + n, 8 + n + rng.below(b.length - 8 - n), b.length - 1]);
      return [b.slice(0, at), `truncate to ${at} bytes`];
    }
    case 1: {
      const at = rng.below(8);
      const bit = rng.below(8);
      c[at] ^= 1 << bit;
      return [c, `flip bit ${bit} of header-length byte ${at}`];
    }
    case 2: {
      const len = pick(rng, [0n, 1n, BigInt(n - 1), BigInt(n + 1), BigInt(b.length), 2n ** 63n, 2n ** 64n - 1n]);
      Buffer.from(c.buffer, c.byteOffset, 8).writeBigUInt64LE(len, 0);
      return [c, `header length = ${len}`];
    }
    case 3: {
      const at = 8 + rng.below(n);
      c[at] = rng.below(256);
      return [c, `header byte ${at} = ${c[at]}`];
    }
    case 4: {
      const at = 8 + n + rng.below(b.length - 8 - n);
      c[at] = 0xff; // when it is a float's high byte: a NaN, an infinity or a huge weight
      return [c, `data byte ${at} = 0xff`];
    }
    default:
      return [Uint8Array.from([...b, ...Array.from({ length: 1 + rng.below(8) }, () => rng.below(256))]), 'append bytes'];
  }
}

function mutate(index: number, rng: Rng): Mutation {
  const base = pick(rng, bases);
  const h: Header = JSON.parse(JSON.stringify(base.header));
  const steps: string[] = [];
  // mostly one edit of the header; some two; some an edit of the bytes, alone or after one of the header
  const byteEdit = rng.uniform() < 0.15;
  const headerEdits = byteEdit ? (rng.uniform() < 0.3 ? 1 : 0) : rng.uniform() < 0.15 ? 2 : 1;
  for (let i = 0; i < headerEdits; i++) {
    let r = rng.below(HEADER_EDITS.reduce((a, [w]) => a + w, 0));
    const [, edit] = HEADER_EDITS.find(([w]) => (r -= w) < 0)!;
    steps.push(edit(h, rng));
  }
  let bytes = encode(h, base.data);
  if (byteEdit) {
    const [b, what] = editBytes(bytes, rng);
    bytes = b;
    steps.push(what);
  }
  return { index, base: base.name, steps, bytes };
}

type Consumer = 'eval' | 'init-from' | 'resume';
const CONSUMERS: Consumer[] = ['eval', 'init-from', 'resume'];

/** What the command reads a file with, in-process: the same calls in the same order, up to where the data comes in. */
const READERS: Record<Consumer, (file: string) => void> = {
  eval: (file) => {
    const st = readSafetensors(file);
    readWeights(st, file, mlpLayout(checkpointSizes(st, file)));
  },
  'init-from': (file) => {
    const st = readSafetensors(file);
    const hidden = hiddenOf(checkpointSizes(st, file), null, file);
    readWeights(st, file, mlpLayout(mlpSizes(784, hidden, 10)));
  },
  resume: (file) => void readCheckpoint(file),
};

/** null when the reader took the file, else the one-line message and exit code the command prints for it. */
function readInProcess(consumer: Consumer, file: string, what: string): { message: string; code: number } | null {
  try {
    READERS[consumer](file);
    return null;
  } catch (e) {
    if (!(e instanceof UserError)) throw new Error(`${what}: ${consumer} threw ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return { message: e.message, code: e.name === 'DataError' ? 1 : 2 };
  }
}

const COMMANDS: Record<Consumer, (file: string, out: string) => [string, string[]]> = {
  eval: (file) => ['eval.js', ['--threads', '1', '--data', FIXTURE, '--model', file]],
  'init-from': (file) => ['train.js', ['--threads', '1', '--data', FIXTURE, '--init-from', file, '--steps', '0']],
  // --data keeps each run short (the recorded data, all of MNIST, takes a second to load); the recorded path is still checked
  resume: (file, out) => ['train.js', ['--threads', '1', '--data', FIXTURE, '--resume', file, '--steps', '12', '--save', out]],
};

/** Runs `jobs` with at most `limit` at a time. */
async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

describe(`checkpoint fuzz (seed ${SEED})`, () => {
  it(`${MUTATIONS} mutations: each consumer reads a checkpoint whole or refuses it in one line; ${CLI_RUNS_PER_CONSUMER} of them per command through the CLI`, async () => {
    const rng = new Rng(SEED);
    const shared = join(dir, 'mutated.safetensors');
    const mutations: Mutation[] = [];
    const verdicts: Record<Consumer, ({ message: string; code: number } | null)[]> = { eval: [], 'init-from': [], resume: [] };
    for (let i = 0; i < MUTATIONS; i++) {
      const m = mutate(i, rng);
      mutations.push(m);
      writeFileSync(shared, m.bytes);
      const what = `seed ${SEED}, mutation ${i} of the ${m.base} checkpoint: ${m.steps.join('; ')}`;
      for (const c of CONSUMERS) {
        const v = readInProcess(c, shared, what);
        if (v) {
          expect(v.message, what).not.toMatch(/\n/);
          if (v.code === 1) expect(v.message.startsWith(`${shared}: `), `${what}: ${v.message}`).toBe(true);
        }
        verdicts[c].push(v);
      }
    }

    // Per command, a seeded choice of mutations: half of those its reader took (they go on into
    // the run), the rest of those it refused (the command must refuse them in the same words).
    const chosen: [Consumer, number][] = [];
    for (const c of CONSUMERS) {
      const order = mutations.map((m) => m.index);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng.below(i + 1);
        [order[i], order[j]] = [order[j], order[i]];
      }
      const taken = order.filter((i) => verdicts[c][i] === null).slice(0, CLI_RUNS_PER_CONSUMER / 2);
      const refused = order.filter((i) => verdicts[c][i] !== null).slice(0, CLI_RUNS_PER_CONSUMER - taken.length);
      for (const i of [...taken, ...refused]) chosen.push([c, i]);
    }
    const started = performance.now();
    const runs = await pool(
      chosen.map(([c, i]) => async () => {
        const file = join(dir, `m${i}-${c}.safetensors`);
        const out = join(dir, `m${i}-${c}-saved.safetensors`);
        writeFileSync(file, mutations[i].bytes);
        const [script, args] = COMMANDS[c](file, out);
        const t0 = performance.now();
        const r = await runCli(script, args, { timeoutMs: CASE_MS + 1000 });
        return { c, i, file, out, r, ms: performance.now() - t0 };
      }),
      CONCURRENT_CLIS,
    );
    const summary: Record<string, number> = {};
    for (const { c, i, file, out, r, ms } of runs) {
      const m = mutations[i];
      const what = `seed ${SEED}, mutation ${i} of the ${m.base} checkpoint (${m.steps.join('; ')}), ${c}: exit ${r.code}, ${Math.round(ms)} ms, stderr ${JSON.stringify(r.stderr)}`;
      checkCliResult(r, ms, what);
      const expected = verdicts[c][i];
      if (expected) {
        const name = c === 'eval' ? 'eval' : 'train';
        expect(r.stderr, what).toBe(`${name}: error: ${expected.message.replaceAll(join(dir, 'mutated.safetensors'), file)}\n`);
        expect(r.code, what).toBe(expected.code);
      }
      if (c === 'resume' && r.code !== 0) expect(existsSync(out), `${what}: a failed run wrote ${out}`).toBe(false);
      if (c === 'resume' && r.code === 0) checkResumedHeader(r.stdout, what);
      const key = `${c} ${r.code === 0 ? 'ran' : `exit ${r.code}`}`;
      summary[key] = (summary[key] ?? 0) + 1;
    }
    const refusedInProcess = Object.fromEntries(CONSUMERS.map((c) => [c, verdicts[c].filter((v) => v !== null).length]));
    const slowest = Math.max(...runs.map((r) => r.ms));
    console.log(
      `checkpoint fuzz, seed ${SEED}: ${MUTATIONS} mutations in-process (refused: ${JSON.stringify(refusedInProcess)}); ` +
        `${runs.length} CLI runs in ${((performance.now() - started) / 1000).toFixed(1)} s, the slowest ${Math.round(slowest)} ms: ${JSON.stringify(summary)}`,
    );
  }, 180_000);
});

/** Success, or one line "eval: error: ..." / "train: error: ..." with exit 1 or 2; in time, and never a stack trace. */
function checkCliResult(r: CliResult, ms: number, what: string): void {
  expect(r.signal, what).toBeNull();
  expect(ms, what).toBeLessThan(CASE_MS);
  expect(r.stderr, what).not.toMatch(/\bat .*:\d+:\d+/);
  expect(r.stderr, what).not.toMatch(/internal error/);
  if (r.code === 0) return;
  expect([1, 2], what).toContain(r.code);
  expect(r.stderr, what).toMatch(/^(eval|train): error: [^\n]+\n$/);
}

/** A resumed run's first line says what it goes on with: a batch size, a learning rate, an epoch and a step, as numbers. */
function checkResumedHeader(stdout: string, what: string): void {
  const header = stdout.split('\n')[0];
  expect(header, what).not.toMatch(/undefined|NaN|null/);
  expect(header, what).toMatch(/; bs [1-9]\d*, /);
  expect(header, what).toMatch(/\blr \d+(\.\d+)?(e[+-]\d+)?\b/);
  expect(header, what).toMatch(/; resumed at epoch [1-9]\d*, step \d+$/);
}
