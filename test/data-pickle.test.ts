import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Allocator, Split } from '../src/data/dataset.js';
import { parseIdx } from '../src/data/idx.js';
import { mnistDataDir } from '../src/data/mnist.js';
import { loadPklBytes, loadPklDataset } from '../src/data/pkl-mnist.js';
import { DataError } from '../src/errors.js';
import {
  dataError,
  f32Array,
  f32Bytes,
  f64Array,
  i64Array,
  PickleWriter,
  replaceOnce,
  scratchDir,
  smallDataset,
  writeScratch,
  type ArraySpec,
} from './data-helpers.js';

const FIXTURES = 'test/fixtures';
const fixture = (name: string) => join(FIXTURES, name);
const MNIST_PICKLES = ['mnist-py2-p2.pkl.gz', 'mnist-py3-p2.pkl.gz', 'mnist-py3-p4.pkl.gz', 'mnist-py3-p5.pkl.gz'];
const scratch = scratchDir('data-pickle');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The raw MNIST bytes the fixtures were cut from (see scripts/make-fixtures.py). */
let mnist: { train: Uint8Array; trainLabels: Uint8Array; t10k: Uint8Array; t10kLabels: Uint8Array };
beforeAll(() => {
  const read = (name: string) => parseIdx(readFileSync(join(mnistDataDir(), name)), name).data;
  mnist = {
    train: read('train-images-idx3-ubyte'),
    trainLabels: read('train-labels-idx1-ubyte'),
    t10k: read('t10k-images-idx3-ubyte'),
    t10kLabels: read('t10k-labels-idx1-ubyte'),
  };
});

/** The split holds MNIST rows [from, from + n) of `images`/`labels`, pixels exactly k/256. */
function expectMnistRows(s: Split, images: Uint8Array, labels: Uint8Array, from: number): void {
  expect(s.x.length).toBe(s.n * 784);
  for (let i = 0; i < s.x.length; i++) {
    if (s.x[i] * 256 !== images[from * 784 + i]) {
      throw new Error(`pixel ${i}: ${s.x[i]} * 256 != ${images[from * 784 + i]}`);
    }
  }
  expect(Array.from(s.y)).toEqual(Array.from(labels.subarray(from, from + s.n)));
}

describe('the lesson-style MNIST pickles', () => {
  test.each(MNIST_PICKLES)('%s loads 100/100/100 rows of 784 float32 pixels k/256 and int labels', (name) => {
    const d = loadPklDataset(fixture(name), { withTest: true });
    expect([d.train.n, d.valid.n, d.test?.n]).toEqual([100, 100, 100]);
    expect(d.nIn).toBe(784);
    expect(d.nClasses).toBe(10);
    expect(d.source).toBe(fixture(name));
    expect(d.train.x).toBeInstanceOf(Float32Array);
    expect(d.train.y).toBeInstanceOf(Int32Array);
    expectMnistRows(d.train, mnist.train, mnist.trainLabels, 0);
    expectMnistRows(d.valid, mnist.train, mnist.trainLabels, 50_000);
    expectMnistRows(d.test as Split, mnist.t10k, mnist.t10kLabels, 0);
  });

  test('without withTest there is no test split', () => {
    const d = loadPklDataset(fixture('mnist-py3-p4.pkl.gz'));
    expect(d.test).toBeUndefined();
    expect(d.valid.n).toBe(100);
  });

  test('arrays come from the allocator (shared memory for the trainer)', () => {
    const asked: string[] = [];
    const shared: Allocator = {
      f32: (n) => (asked.push(`f32 ${n}`), new Float32Array(new SharedArrayBuffer(4 * n))),
      i32: (n) => (asked.push(`i32 ${n}`), new Int32Array(new SharedArrayBuffer(4 * n))),
    };
    const d = loadPklDataset(fixture('mnist-py2-p2.pkl.gz'), { alloc: shared, withTest: true });
    expect(asked).toEqual(['f32 78400', 'i32 100', 'f32 78400', 'i32 100', 'f32 78400', 'i32 100']);
    for (const s of [d.train, d.valid, d.test as Split]) {
      expect(s.x.buffer).toBeInstanceOf(SharedArrayBuffer);
      expect(s.y.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
  });

  test("validSplit 'test' trains on train + valid and validates on the pickle's test split", () => {
    const d = loadPklDataset(fixture('mnist-py3-p5.pkl.gz'), { validSplit: 'test', withTest: true });
    expect([d.train.n, d.valid.n]).toEqual([200, 100]);
    expectMnistRows({ ...d.train, n: 100, x: d.train.x.subarray(0, 78400), y: d.train.y.subarray(0, 100) }, mnist.train, mnist.trainLabels, 0);
    expectMnistRows({ ...d.train, n: 100, x: d.train.x.subarray(78400), y: d.train.y.subarray(100) }, mnist.train, mnist.trainLabels, 50_000);
    expectMnistRows(d.valid, mnist.t10k, mnist.t10kLabels, 0);
    expect(d.test).toBe(d.valid); // the same rows, not a second copy
  });
});

describe('less common layouts (scripts/make-fixtures.py small-*.pkl)', () => {
  // split k has n = 5, 3, 2 rows of 6 values: x[i, j] = (100 k + 6 i + j) / 7, y[i] = (i + k) % 3
  test.each([
    'small-p0.pkl',
    'small-p1.pkl',
    'small-p2.pkl',
    'small-p4.pkl',
    'small-f8-u1-p4.pkl',
    'small-bigendian-p2.pkl',
    'small-fortran-p2.pkl',
    'small-fortran-p5.pkl',
  ])('%s', (name) => {
    const d = loadPklDataset(fixture(name), { withTest: true });
    expect([d.nIn, d.nClasses]).toEqual([6, 3]);
    [d.train, d.valid, d.test as Split].forEach((s, k) => {
      const n = [5, 3, 2][k];
      expect(s.n).toBe(n);
      const want = Array.from({ length: n * 6 }, (_, v) => Math.fround((100 * k + 6 * Math.floor(v / 6) + (v % 6)) / 7));
      expect(Array.from(s.x)).toEqual(want);
      expect(Array.from(s.y)).toEqual(Array.from({ length: n }, (_, i) => (i + k) % 3));
    });
  });
});

describe('bad files', () => {
  test('a missing file', () => {
    const file = join(scratch, 'nope.pkl.gz');
    expect(dataError(() => loadPklDataset(file), file).message).toMatch(/no such file/);
  });

  test('a truncated gzip', () => {
    const gz = readFileSync(fixture('mnist-py3-p4.pkl.gz'));
    const file = writeScratch(scratch, 'truncated.pkl.gz', gz.subarray(0, gz.length >> 1));
    expect(dataError(() => loadPklDataset(file), file).message).toMatch(/corrupt or truncated gzip/);
  });

  test('a .gz that is not gzip', () => {
    const file = writeScratch(scratch, 'plain.pkl.gz', readFileSync(fixture('small-p4.pkl')));
    expect(dataError(() => loadPklDataset(file), file).message).toMatch(/named \.gz but is not gzip/);
  });

  test('a pickle truncated inside an array (declared length longer than the file)', () => {
    const good = readFileSync(fixture('small-p2.pkl'));
    const file = writeScratch(scratch, 'cut.pkl', good.subarray(0, 300));
    expect(dataError(() => loadPklDataset(file), file).message).toMatch(
      /malformed pickle: truncated: a text string needs \d+ bytes but only \d+ remain \(opcode BINUNICODE at byte \d+\)/,
    );
  });

  test('an array whose byte count does not match its shape and dtype', () => {
    // small-p2.pkl: x_train's shape (5, 6) is BININT1 5, BININT1 6, TUPLE2; make it (5, 7)
    const bad = replaceOnce(readFileSync(fixture('small-p2.pkl')), Uint8Array.of(0x4b, 5, 0x4b, 6, 0x86), Uint8Array.of(0x4b, 5, 0x4b, 7, 0x86));
    const file = writeScratch(scratch, 'badshape.pkl', bad);
    expect(dataError(() => loadPklDataset(file), file).message).toBe(
      `${file}: x_train: holds 120 bytes of data but shape [5, 7] of <f4 needs 140`,
    );
  });

  test.each([
    ['NaN', NaN, /x_train: pixel 2 of row 1 is NaN/],
    ['+infinity', Infinity, /x_train: pixel 2 of row 1 is Infinity/],
    ['-infinity', -Infinity, /x_train: pixel 2 of row 1 is -Infinity/],
  ])('a %s pixel', (_, v, message) => {
    // x_train[1, 2] = 8/7 in small-p4.pkl
    const bad = replaceOnce(readFileSync(fixture('small-p4.pkl')), f32Bytes(8 / 7), f32Bytes(v));
    const file = writeScratch(scratch, `nonfinite-${String(v)}.pkl`, bad);
    expect(dataError(() => loadPklDataset(file), file).message).toMatch(message);
  });

  test('a float64 pixel too large for float32', () => {
    const splits = smallDataset();
    splits[1][0] = f64Array([3, 5], [0, 0, 0, 0, 0, 0, 1e300, 0, 0, 0, 0, 0, 0, 0, 0]);
    const file = writeScratch(scratch, 'huge.pkl', new PickleWriter().dataset(splits).finish());
    expect(dataError(() => loadPklDataset(file), file).message).toMatch(
      /x_valid: pixel 1 of row 1 is Infinity \(after conversion to float32\)/,
    );
  });

  describe('not the expected structure', () => {
    const cases: [string, (w: PickleWriter) => PickleWriter, RegExp][] = [
      ['an int', (w) => w.proto(2).int(7).stop(), /the pickle holds int 7; expected \(\(x_train, y_train\), \(x_valid/],
      [
        'a 2-tuple of splits',
        (w) => {
          const [a, b] = smallDataset();
          return w.proto(4).ndarray(a[0]).ndarray(a[1]).tupleN(2).ndarray(b[0]).ndarray(b[1]).tupleN(2).tupleN(2).stop();
        },
        /the pickle holds tuple of 2 items; expected/,
      ],
      ['a dict', (w) => w.proto(4).raw(0x7d).str('train').int(1).raw(0x73).stop(), /the pickle holds dict of 1 entry/],
      [
        'a split that is not a pair',
        (w) => {
          const [a, b, c] = smallDataset();
          w.proto(4).mark().ndarray(a[0]).ndarray(a[1]).tupleN(2).ndarray(b[0]).ndarray(b[1]).ndarray(b[1]).tupleN(3);
          return w.ndarray(c[0]).ndarray(c[1]).tupleN(2).tuple().stop();
        },
        /the valid split is tuple of 3 items, not an \(x, y\) pair/,
      ],
      [
        'a split holding ints, not arrays',
        (w) => {
          const [a, , c] = smallDataset();
          w.proto(4).mark().ndarray(a[0]).ndarray(a[1]).tupleN(2).int(1).int(2).tupleN(2);
          return w.ndarray(c[0]).ndarray(c[1]).tupleN(2).tuple().stop();
        },
        /x_valid: expected a numpy array, found int 1/,
      ],
    ];
    test.each(cases)('%s', (name, build, message) => {
      const file = writeScratch(scratch, `structure-${name.replace(/\W+/g, '-')}.pkl`, build(new PickleWriter()).finish());
      expect(dataError(() => loadPklDataset(file), file).message).toMatch(message);
    });

    const arrays: [string, (s: [ArraySpec, ArraySpec][]) => void, RegExp][] = [
      ['x not 2-D', (s) => (s[0][0] = f32Array([20], new Array(20).fill(0))), /x_train has shape \[20\], expected 2-D/],
      ['y not 1-D', (s) => (s[2][1] = { ...i64Array([0, 1]), shape: [2, 1] }), /y_test has shape \[2, 1\], expected 1-D/],
      ['row counts differ', (s) => (s[1][1] = i64Array([0, 1])), /x_valid has 3 rows but y_valid has 2/],
      ['row widths differ between splits', (s) => (s[2][0] = f32Array([2, 4], new Array(8).fill(0))), /x_test rows have 4 pixels but x_train rows have 5/],
      ['integer pixels', (s) => (s[0][0] = { dtype: '|u1', shape: [4, 5], data: new Uint8Array(20) }), /x_train has dtype \|u1, expected float pixels/],
      ['float labels', (s) => (s[0][1] = f32Array([4], [0, 1, 2, 0])), /y_train has dtype <f4, expected integer class labels/],
      ['an empty train split', (s) => (s[0] = [f32Array([0, 5], []), i64Array([])]), /the train split has no rows/],
      ['a structured dtype', (s) => (s[0][0] = { ...s[0][0], dtype: '<V4' }), /x_train: unsupported dtype 'V4'/],
    ];
    test.each(arrays)('%s', (name, mutate, message) => {
      const splits = smallDataset();
      mutate(splits);
      const file = writeScratch(scratch, `arrays-${name.replace(/\W+/g, '-')}.pkl`, new PickleWriter().dataset(splits).finish());
      expect(dataError(() => loadPklDataset(file), file).message).toMatch(message);
    });
  });

  describe('labels', () => {
    const cases: [string, (s: [ArraySpec, ArraySpec][]) => void, RegExp][] = [
      ['a valid label above the training range', (s) => (s[1][1] = i64Array([0, 3, 1])), /y_valid: label 3 at row 1 is outside the class range 0\.\.2/],
      ['a test label above the training range', (s) => (s[2][1] = i64Array([0, 7])), /y_test: label 7 at row 1 is outside the class range 0\.\.2/],
      ['a negative training label', (s) => (s[0][1] = i64Array([0, 1, -1, 2])), /y_train: label -1 at row 2 is outside the class range 0\.\.2/],
      ['a label beyond int32', (s) => (s[0][1] = i64Array([0, 1, 2n ** 40n, 2])), /y_train: value 1099511627776 at element 2 does not fit in a 32-bit integer/],
      ['a label naming too many classes', (s) => (s[0][1] = i64Array([0, 1, 1_000_000, 2])), /1000001 classes is more than 65536/],
    ];
    test.each(cases)('%s', (name, mutate, message) => {
      const splits = smallDataset();
      mutate(splits);
      const file = writeScratch(scratch, `labels-${name.replace(/\W+/g, '-')}.pkl`, new PickleWriter().dataset(splits).finish());
      expect(dataError(() => loadPklDataset(file, { withTest: true }), file).message).toMatch(message);
    });
  });

  describe('hostile pickles', () => {
    // Loading these with Python's pickle runs a shell command (make-fixtures.py checks that it does).
    test.each([
      ['evil-os-system.pkl', 'os system', '/tmp/mlp-parallel-evil-os-system'],
      ['evil-builtins-eval.pkl', 'builtins eval', '/tmp/mlp-parallel-evil-builtins-eval'],
    ])('%s is refused and runs nothing', (name, global, marker) => {
      rmSync(marker, { force: true });
      const err = dataError(() => loadPklDataset(fixture(name)), fixture(name));
      expect(err.message).toBe(`${fixture(name)}: refused pickle global '${global}' (only numpy array globals are allowed)`);
      expect(existsSync(marker)).toBe(false);
    });

    const globals: [string, (w: PickleWriter) => PickleWriter, string][] = [
      ['subprocess Popen (STACK_GLOBAL)', (w) => w.proto(4).stackGlobal('subprocess', 'Popen').str('touch x').tupleN(1).reduce().stop(), 'subprocess Popen'],
      ['posix system', (w) => w.proto(2).global('posix', 'system').str('touch x').tupleN(1).reduce().stop(), 'posix system'],
      ['__builtin__ eval (Python 2 name)', (w) => w.proto(2).global('__builtin__', 'eval').str('1').tupleN(1).reduce().stop(), '__builtin__ eval'],
      [
        'os system after two good splits',
        (w) => {
          const [a, b] = smallDataset();
          w.proto(4).mark().ndarray(a[0]).ndarray(a[1]).tupleN(2).ndarray(b[0]).ndarray(b[1]).tupleN(2);
          return w.stackGlobal('os', 'system').str('touch x').tupleN(1).reduce().tuple().stop();
        },
        'os system',
      ],
      ['numpy load (numpy, but not an array global)', (w) => w.proto(4).stackGlobal('numpy', 'load').str('x.npy').tupleN(1).reduce().stop(), 'numpy load'],
    ];
    test.each(globals)('%s is refused, naming the global', (name, build, global) => {
      const bytes = build(new PickleWriter()).finish();
      const file = writeScratch(scratch, `evil-${name.replace(/\W+/g, '-')}.pkl.gz`, gzipSync(bytes));
      expect(dataError(() => loadPklDataset(file), file).message).toBe(
        `${file}: refused pickle global '${global}' (only numpy array globals are allowed)`,
      );
    });

    test.each([
      ['INST', 0x69],
      ['OBJ', 0x6f],
      ['NEWOBJ', 0x81],
      ['EXT1', 0x82],
      ['PERSID', 0x50],
    ])('the %s opcode (builds arbitrary objects) is refused', (name, op) => {
      const file = writeScratch(scratch, `op-${name}.pkl`, new PickleWriter().proto(2).mark().raw(op).finish());
      expect(dataError(() => loadPklDataset(file), file).message).toMatch(
        new RegExp(`unknown or unsupported pickle opcode 0x${op.toString(16)} \\(${name}\\) at byte 3`),
      );
    });
  });

  test.each(['small-p0.pkl', 'small-p2.pkl', 'small-p4.pkl', 'small-fortran-p5.pkl'])(
    'every prefix of %s is a DataError, not a crash',
    (name) => {
      const good = readFileSync(fixture(name));
      for (let n = 0; n < good.length; n++) {
        expect(() => loadPklBytes(good.slice(0, n), 'prefix.pkl')).toThrow(DataError);
      }
    },
  );
});
