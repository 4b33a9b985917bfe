import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, test } from 'vitest';
import type { Split } from '../src/data/dataset.js';
import { loadIdxFolder, tailValidRows } from '../src/data/idx-folder.js';
import { loadPklDataset } from '../src/data/pkl-mnist.js';
import { dataError, scratchDir } from './data-helpers.js';

// test/fixtures/idx (raw) and idx-gz: 125 training rows (MNIST train rows 0..99 then 50000..50024)
// and 100 t10k rows; see scripts/make-fixtures.py.
const IDX = 'test/fixtures/idx';
const IDX_GZ = 'test/fixtures/idx-gz';
const scratch = scratchDir('data-idx');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the raw fixture folder with `change` applied to its files (name -> bytes, or undefined to delete). */
function variant(name: string, change: Record<string, Uint8Array | undefined>): string {
  const dir = join(scratch, name);
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(IDX)) if (!(f in change)) copyFileSync(join(IDX, f), join(dir, f));
  for (const [f, bytes] of Object.entries(change)) if (bytes) writeFileSync(join(dir, f), bytes);
  return dir;
}
const fixtureBytes = (f: string) => new Uint8Array(readFileSync(join(IDX, f)));

/** Typed arrays with identical contents (toEqual on 100k elements is slow). */
function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** An IDX file: magic 0 0 8 ndims, big-endian dims, bytes. */
function idxFile(dims: number[], data: Uint8Array): Uint8Array {
  const header = new DataView(new ArrayBuffer(4 + 4 * dims.length));
  header.setUint32(0, 0x0800 + dims.length);
  dims.forEach((d, i) => header.setUint32(4 + 4 * i, d));
  return Uint8Array.from([...new Uint8Array(header.buffer), ...data]);
}

describe('the fixture folders', () => {
  test.each([IDX, IDX_GZ])('%s: last fifth of 125 training rows validates; nIn and nClasses from the data', (dir) => {
    const d = loadIdxFolder(dir, { withTest: true });
    expect([d.train.n, d.valid.n, d.test?.n]).toEqual([100, 25, 100]);
    expect([d.nIn, d.nClasses, d.source]).toEqual([784, 10, dir]);
    // pixels are k/255 of the file's bytes, rows in order
    const images = fixtureBytes('train-images-idx3-ubyte').subarray(16);
    for (const [s, from] of [[d.train, 0], [d.valid, 100]] as [Split, number][]) {
      const want = Float32Array.from(images.subarray(from * 784, (from + s.n) * 784), (k) => k / 255);
      expect(sameBytes(s.x, want)).toBe(true);
    }
    const labels = fixtureBytes('train-labels-idx1-ubyte').subarray(8);
    expect(Array.from(d.valid.y)).toEqual(Array.from(labels.subarray(100)));
  });

  test('raw and gzipped folders load the same arrays', () => {
    const a = loadIdxFolder(IDX, { withTest: true });
    const b = loadIdxFolder(IDX_GZ, { withTest: true });
    for (const k of ['train', 'valid', 'test'] as const) {
      expect(sameBytes(b[k]!.x, a[k]!.x)).toBe(true);
      expect(sameBytes(b[k]!.y, a[k]!.y)).toBe(true);
    }
  });

  test("validSplit 'test' trains on all 125 rows and validates on t10k", () => {
    const d = loadIdxFolder(IDX, { validSplit: 'test', withTest: true });
    expect([d.train.n, d.valid.n]).toEqual([125, 100]);
    expect(d.test).toBe(d.valid);
    expect(loadIdxFolder(IDX, { validSplit: 'test' }).test).toBeUndefined();
  });

  test('the pickle fixture and the IDX fixture hold the same images: x_pkl * 256 == x_idx * 255', () => {
    const pkl = loadPklDataset('test/fixtures/mnist-py2-p2.pkl.gz', { withTest: true });
    const idx = loadIdxFolder(IDX_GZ, { withTest: true });
    const pairs: [Split, Split, number][] = [
      [pkl.train, idx.train, 100], // all 100
      [pkl.valid, idx.valid, 25], // IDX validates on the pickle's first 25 valid rows
      [pkl.test as Split, idx.test as Split, 100],
    ];
    let compared = 0;
    for (const [p, q, n] of pairs) {
      for (let i = 0; i < n * 784; i++) {
        const k = p.x[i] * 256;
        if (!Number.isInteger(k) || k !== Math.round(q.x[i] * 255)) {
          throw new Error(`pixel ${i}: pickle ${k}/256, idx ${q.x[i] * 255}/255`);
        }
        compared += k > 0 ? 1 : 0;
      }
      expect(Array.from(q.y.subarray(0, n))).toEqual(Array.from(p.y.subarray(0, n)));
    }
    expect(compared).toBeGreaterThan(20_000); // real digits, not blank images
  });

  test('raw files win over .gz when a folder has both', () => {
    const dir = variant('both', { 'train-labels-idx1-ubyte.gz': Uint8Array.of(1, 2, 3) }); // a broken .gz beside a good raw file
    expect(loadIdxFolder(dir).train.n).toBe(100);
  });
});

describe('how many training rows validate', () => {
  test.each([
    [60_000, 10_000],
    [50_000, 10_000],
    [12_000, 2_400],
    [10_000, 2_000],
    [125, 25],
    [5, 1],
    [4, 0],
  ])('%i training rows -> %i', (n, want) => expect(tailValidRows(n)).toBe(want));
});

describe('bad folders', () => {
  test('a missing folder', () => {
    const dir = join(scratch, 'nope');
    expect(dataError(() => loadIdxFolder(dir), dir).message).toBe(`${dir}: no such folder`);
  });

  test('a file, not a folder', () => {
    const file = join(IDX, 'train-labels-idx1-ubyte');
    expect(dataError(() => loadIdxFolder(file), file).message).toMatch(/is not a folder/);
  });

  test.each(['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'])(
    'a folder missing %s',
    (missing) => {
      const dir = variant(`missing-${missing}`, { [missing]: undefined });
      expect(dataError(() => loadIdxFolder(dir), dir).message).toMatch(new RegExp(`^${dir}: missing ${missing} \\(or ${missing}\\.gz\\)`));
    },
  );

  test('a truncated gzip', () => {
    const gz = readFileSync(join(IDX_GZ, 'train-images-idx3-ubyte.gz'));
    const dir = variant('truncated-gz', { 'train-images-idx3-ubyte': undefined, 'train-images-idx3-ubyte.gz': gz.subarray(0, gz.length - 100) });
    const file = join(dir, 'train-images-idx3-ubyte.gz');
    expect(dataError(() => loadIdxFolder(dir), file).message).toMatch(/corrupt or truncated gzip data/);
  });

  test('a .gz that is not gzip', () => {
    const raw = fixtureBytes('t10k-labels-idx1-ubyte');
    const dir = variant('not-gzip', { 't10k-labels-idx1-ubyte': undefined, 't10k-labels-idx1-ubyte.gz': raw });
    const file = join(dir, 't10k-labels-idx1-ubyte.gz');
    expect(dataError(() => loadIdxFolder(dir, { withTest: true }), file).message).toMatch(/named \.gz but is not gzip data/);
  });

  test('a wrong IDX magic number', () => {
    const bad = fixtureBytes('train-images-idx3-ubyte');
    bad[0] = 0x1f;
    const dir = variant('magic', { 'train-images-idx3-ubyte': bad });
    expect(dataError(() => loadIdxFolder(dir), join(dir, 'train-images-idx3-ubyte')).message).toMatch(/not an IDX file \(magic number 0x1f000803/);
  });

  test('a wrong IDX element type', () => {
    const bad = fixtureBytes('train-labels-idx1-ubyte');
    bad[2] = 0x0d; // float
    const dir = variant('type', { 'train-labels-idx1-ubyte': bad });
    expect(dataError(() => loadIdxFolder(dir), join(dir, 'train-labels-idx1-ubyte')).message).toMatch(/unsupported IDX element type 0x0d/);
  });

  test('a header declaring more images than the file holds', () => {
    const bad = fixtureBytes('train-images-idx3-ubyte');
    new DataView(bad.buffer).setUint32(4, 1_000_000); // 1,000,000 images of 28x28 in a 98 kB file
    const dir = variant('declared', { 'train-images-idx3-ubyte': bad });
    expect(dataError(() => loadIdxFolder(dir), join(dir, 'train-images-idx3-ubyte')).message).toMatch(
      /truncated: the header declares 1000000x28x28 values \(784000000 bytes\) but the file holds 98000/,
    );
  });

  test('image and label counts that differ', () => {
    const labels = fixtureBytes('train-labels-idx1-ubyte').subarray(8, 8 + 124);
    const dir = variant('count', { 'train-labels-idx1-ubyte': idxFile([124], labels) });
    const file = join(dir, 'train-labels-idx1-ubyte');
    expect(dataError(() => loadIdxFolder(dir), file).message).toMatch(/holds 124 labels but .*train-images-idx3-ubyte holds 125 images/);
  });

  test('a test label outside the training labels’ class range', () => {
    const labels = fixtureBytes('t10k-labels-idx1-ubyte');
    labels[8 + 42] = 10; // training labels are 0..9
    const dir = variant('label-range', { 't10k-labels-idx1-ubyte': labels });
    const file = join(dir, 't10k-labels-idx1-ubyte');
    expect(dataError(() => loadIdxFolder(dir, { withTest: true }), file).message).toBe(
      `${file}: label 10 at row 42 is outside the class range 0..9`,
    );
    // validating on t10k checks the same labels without withTest
    expect(dataError(() => loadIdxFolder(dir, { validSplit: 'test' }), file).message).toMatch(/label 10 at row 42/);
  });

  test('a validation label (tail of the training file) outside the class range of the training rows', () => {
    const labels = fixtureBytes('train-labels-idx1-ubyte');
    for (let i = 0; i < 125; i++) labels[8 + i] = Math.min(labels[8 + i], 8); // classes 0..8 only
    labels[8 + 110] = 9;
    const dir = variant('tail-range', { 'train-labels-idx1-ubyte': labels });
    const file = join(dir, 'train-labels-idx1-ubyte');
    expect(dataError(() => loadIdxFolder(dir), file).message).toMatch(/label 9 at row 110 is outside the class range 0\.\.8/);
  });

  test('t10k images of another size', () => {
    const dir = variant('size', {
      't10k-images-idx3-ubyte': idxFile([2, 14, 14], new Uint8Array(2 * 196)),
      't10k-labels-idx1-ubyte': idxFile([2], Uint8Array.of(3, 4)),
    });
    const file = join(dir, 't10k-images-idx3-ubyte');
    expect(dataError(() => loadIdxFolder(dir, { withTest: true }), file).message).toMatch(/images have 196 pixels but the training images have 784/);
  });

  test('too few training rows to set a fifth aside', () => {
    const dir = variant('tiny', {
      'train-images-idx3-ubyte': idxFile([4, 28, 28], new Uint8Array(4 * 784)),
      'train-labels-idx1-ubyte': idxFile([4], Uint8Array.of(0, 1, 2, 3)),
    });
    expect(dataError(() => loadIdxFolder(dir), join(dir, 'train-images-idx3-ubyte')).message).toMatch(/only 4 training images/);
  });

  test('gzipped variants of every bad file are refused the same way', () => {
    const bad = fixtureBytes('train-images-idx3-ubyte');
    bad[3] = 5; // 5 dimensions
    const dir = variant('gz-bad', { 'train-images-idx3-ubyte': undefined, 'train-images-idx3-ubyte.gz': gzipSync(bad) });
    expect(dataError(() => loadIdxFolder(dir), join(dir, 'train-images-idx3-ubyte.gz')).message).toMatch(/unsupported IDX dimension count 5/);
  });
});
