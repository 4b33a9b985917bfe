import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/errors.js';
import { heapAllocator } from '../src/data/dataset.js';
import { loadIdxSplit } from '../src/data/idx-split.js';
import { parseIdx } from '../src/data/idx.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-idx-'));

/** An IDX file of unsigned bytes: magic 0x00 0x00 0x08 ndims, big-endian dims, values. */
function idx(dims: number[], values: number[], magicType = 0x08): Uint8Array {
  const head = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(head.buffer);
  head.set([0, 0, magicType, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return Uint8Array.from([...head, ...values]);
}

function write(name: string, bytes: Uint8Array): string {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

// 3 images of 2x2 and their labels.
const pixels = [0, 255, 51, 102, 1, 2, 3, 4, 255, 0, 0, 255];
const images = () => write('images', idx([3, 2, 2], pixels));
const labels = () => write('labels', idx([3], [7, 0, 9]));

describe('IDX reading', () => {
  it('reads the header, shape, pixels in [0, 1] and labels', () => {
    const s = loadIdxSplit(images(), labels(), heapAllocator);
    expect(s.n).toBe(3);
    expect(s.nIn).toBe(4);
    expect(Array.from(s.x)).toEqual(pixels.map((p) => Math.fround(p / 255)));
    expect(Array.from(s.y)).toEqual([7, 0, 9]);
  });

  it('parses the big-endian dimensions', () => {
    expect(parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'f').dims).toEqual([2, 3]);
  });

  const cases: [string, () => void, RegExp][] = [
    ['a truncated images file', () => loadIdxSplit(write('trunc', idx([3, 2, 2], pixels).subarray(0, 20)), labels(), heapAllocator), /trunc: truncated: the header declares 3x2x2 values \(12 bytes\) but the file holds 4/],
    ['a truncated header', () => parseIdx(idx([3, 2, 2], []).subarray(0, 9), 'short'), /short: truncated IDX header/],
    ['a wrong magic number', () => loadIdxSplit(write('magic', Uint8Array.from([1, 2, 3, 4, ...pixels])), labels(), heapAllocator), /magic: not an IDX file \(magic number 0x01020304/],
    ['an element type other than bytes', () => parseIdx(idx([1], [0, 0, 0, 0], 0x0d), 'float'), /float: unsupported IDX element type 0x0d/],
    ['image and label counts that differ', () => loadIdxSplit(images(), write('labels2', idx([2], [1, 2])), heapAllocator), /labels2: holds 2 labels but .*images holds 3 images/],
    ['labels with image dimensions', () => loadIdxSplit(images(), images(), heapAllocator), /expected labels \[n\], found dimensions 3x2x2/],
    ['a missing file', () => loadIdxSplit(join(dir, 'nope'), labels(), heapAllocator), /nope: no such file/],
  ];
  for (const [what, load, message] of cases) {
    it(`refuses ${what} with a DataError naming the file`, () => {
      expect(load).toThrow(DataError);
      expect(load).toThrow(message);
    });
  }
});
