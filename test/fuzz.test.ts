import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ungzip } from 'pako';
import { describe, expect, it } from 'vitest';
import { heapAllocator } from '../src/data/dataset.js';
import { idxImages, idxLabels } from '../src/data/idx.js';
import { loadPklBytes } from '../src/data/pkl-mnist.js';
import { DataError } from '../src/errors.js';
import { Rng } from '../src/rng.js';
import { ROOT, runCli } from './helpers/cli.js';

// Seeded random mutations of valid files: each must load or be refused with a DataError, never throw
// anything else, hang, or allocate what the file cannot back.
const fixtures = join(ROOT, 'test/fixtures');
const CASE_MS = 2000;

type Mutation = (b: Uint8Array, rng: Rng) => Uint8Array;

const mutations: Record<string, Mutation> = {
  flip: (b, rng) => {
    const c = b.slice();
    for (let i = 0, n = 1 + rng.below(8); i < n; i++) c[rng.below(c.length)] ^= 1 << rng.below(8);
    return c;
  },
  truncate: (b, rng) => b.slice(0, rng.below(b.length)),
  insert: (b, rng) => {
    const at = rng.below(b.length);
    const extra = Uint8Array.from({ length: 1 + rng.below(16) }, () => rng.below(256));
    return Uint8Array.from([...b.subarray(0, at), ...extra, ...b.subarray(at)]);
  },
  // Overwrite 4 bytes with a large number: a length field, when it lands on one.
  length: (b, rng) => {
    const c = b.slice();
    const at = rng.below(Math.max(1, c.length - 4));
    new DataView(c.buffer).setUint32(at, [0xffffffff, 0x7fffffff, 0x10000000, c.length * 4][rng.below(4)], rng.below(2) === 0);
    return c;
  },
  header: (b, rng) => {
    // Mutations near the start hit headers and opcodes more often.
    const c = b.slice();
    c[rng.below(Math.min(64, c.length))] = rng.below(256);
    return c;
  },
};

function fuzz(name: string, original: Uint8Array, load: (b: Uint8Array) => unknown, cases: number, seed: number) {
  it(`${name}: ${cases} mutations end in a dataset or a DataError`, () => {
    const rng = new Rng(seed);
    const kinds = Object.keys(mutations);
    const outcomes = { loaded: 0, refused: 0 };
    for (let i = 0; i < cases; i++) {
      const kind = kinds[i % kinds.length];
      const bytes = mutations[kind](original, rng);
      const t0 = performance.now();
      try {
        load(bytes);
        outcomes.loaded++;
      } catch (e) {
        if (!(e instanceof DataError)) throw new Error(`case ${i} (${kind}) threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        outcomes.refused++;
      }
      expect(performance.now() - t0, `case ${i} (${kind})`).toBeLessThan(CASE_MS);
    }
    // The mutations did reach the checks: most are refused.
    expect(outcomes.refused).toBeGreaterThan(cases / 3);
  });
}

describe('fuzzed readers', () => {
  const images = readFileSync(join(fixtures, 'idx/train-images-idx3-ubyte'));
  const labels = readFileSync(join(fixtures, 'idx/train-labels-idx1-ubyte'));
  fuzz('IDX images', images, (b) => idxImages(b, 'images', heapAllocator), 150, 1);
  fuzz('IDX labels', labels, (b) => idxLabels(b, 'labels', heapAllocator), 100, 2);
  for (const [file, seed] of [
    ['mnist-py2-p2.pkl.gz', 3],
    ['mnist-py3-p2.pkl.gz', 4],
    ['mnist-py3-p4.pkl.gz', 5],
    ['mnist-py3-p5.pkl.gz', 6],
  ] as const) {
    const pickle = ungzip(readFileSync(join(fixtures, file)));
    fuzz(`pickle ${file}`, pickle, (b) => loadPklBytes(b, file), 100, seed);
  }
});

describe('fuzzed command line', () => {
  it('random flag values end in a run or one clean error line', async () => {
    const rng = new Rng(99);
    const values = ['0', '1', '-1', '2', '3.5', 'abc', '', '1e3', '50,,x', '7,3', '0x10', 'NaN', '-0', '99999999999'];
    const flags = ['--threads', '--epochs', '--bs', '--lr', '--hidden', '--seed', '--init', '--steps', '--momentum', '--wd', '--valid-split', '--kernel'];
    for (let i = 0; i < 12; i++) {
      const args: string[] = [];
      for (let k = 0, n = 1 + rng.below(3); k < n; k++) args.push(flags[rng.below(flags.length)], values[rng.below(values.length)]);
      // Keep any run that the flags allow small and short.
      const r = await runCli('train.js', [...args, '--train-rows', '200', '--valid-rows', '100', '--steps', '3', '--json'], { timeoutMs: 60_000 });
      const what = `train ${args.join(' ')}`;
      expect(r.signal, what).toBe(null);
      if (r.code === 0) {
        expect(r.stdout, what).toMatch(/"event":"done"/);
      } else {
        const lines = r.stderr.trimEnd().split('\n');
        expect(lines, what).toHaveLength(1);
        expect(lines[0], what).toMatch(/^train: error: /);
        expect(lines[0], what).not.toMatch(/internal error/);
      }
    }
  }, 180_000);
});
