import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Dataset } from '../src/data/dataset.js';
import { confusionMatrix, mostConfidentlyWrong, perClassAccuracy, predictedClass } from '../src/report/confusion.js';
import { metricsLog } from '../src/report/metrics-log.js';
import { lossPlot } from '../src/report/plot-callback.js';
import { confidenceText, encodeGreyPng, errorGallerySvg, imageSide } from '../src/report/svg-images.js';
import { lossChartSvg, niceRange, type EpochPoint } from '../src/report/svg-plot.js';
import { fit, type EpochEvent, type FitProgress, type StepEvent } from '../src/train/fit.js';
import { createTrainer } from '../src/trainer.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-report-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Elements that may repeat are always arrays, so counts do not depend on there being one. */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => ['g', 'circle', 'polyline', 'image', 'text', 'line', 'rect'].includes(name),
});

interface SvgNode {
  [k: string]: unknown;
  g?: SvgNode[];
  circle?: SvgNode[];
  polyline?: SvgNode[];
  image?: SvgNode[];
  text?: (SvgNode | string)[];
}

function parseSvg(xml: string): SvgNode {
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = parser.parse(xml) as { svg: SvgNode };
  expect(doc.svg).toBeDefined();
  expect(doc.svg.xmlns).toBe('http://www.w3.org/2000/svg');
  return doc.svg;
}

const group = (svg: SvgNode, id: string): SvgNode => {
  const g = svg.g?.find((x) => x.id === id);
  if (!g) throw new Error(`no <g id="${id}">`);
  return g;
};

// probs [6, 3], labels [6]: rows 0, 2, 5 right; 1, 3, 4 wrong.
const probs = new Float32Array([
  0.7, 0.2, 0.1, // row 0: true 0, pred 0
  0.1, 0.8, 0.1, // row 1: true 0, pred 1 (0.8)
  0.2, 0.5, 0.3, // row 2: true 1, pred 1
  0.05, 0.05, 0.9, // row 3: true 1, pred 2 (0.9)
  0.8, 0.1, 0.1, // row 4: true 2, pred 0 (0.8, ties row 1: row order decides)
  0.1, 0.1, 0.8, // row 5: true 2, pred 2
]);
const labels = new Int32Array([0, 0, 1, 1, 2, 2]);

describe('confusion', () => {
  it('predicts the most probable class, the lower one on a tie', () => {
    expect(predictedClass(new Float32Array([0.4, 0.4, 0.2]), 0, 3)).toBe(0);
    expect(predictedClass(new Float32Array([0.1, 0.45, 0.45, 0, 0, 1]), 0, 3)).toBe(1);
    expect(predictedClass(new Float32Array([0.1, 0.45, 0.45, 0, 0, 1]), 1, 3)).toBe(2);
  });

  it('counts true label by row, prediction by column', () => {
    expect(confusionMatrix(probs, labels, 3)).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [1, 0, 1],
    ]);
  });

  it('per-class accuracy comes from the rows, and a class with no rows has none', () => {
    // The same rows with a fourth class that no row is labelled with or predicted as.
    const probs4 = new Float32Array(6 * 4);
    for (let r = 0; r < 6; r++) probs4.set(probs.subarray(r * 3, r * 3 + 3), r * 4);
    const m = confusionMatrix(probs4, labels, 4);
    expect(m[3]).toEqual([0, 0, 0, 0]);
    expect(perClassAccuracy(m)).toEqual([
      { label: 0, count: 2, correct: 1, accuracy: 0.5 },
      { label: 1, count: 2, correct: 1, accuracy: 0.5 },
      { label: 2, count: 2, correct: 1, accuracy: 0.5 },
      { label: 3, count: 0, correct: 0, accuracy: null },
    ]);
    const lopsided = perClassAccuracy([
      [3, 1],
      [0, 5],
    ]);
    expect(lopsided.map((c) => [c.count, c.correct, c.accuracy])).toEqual([
      [4, 3, 0.75],
      [5, 5, 1],
    ]);
  });

  it('most confidently wrong: only mistakes, by the predicted probability, ties in row order', () => {
    const all = mostConfidentlyWrong(probs, labels, 3, 10);
    expect(all.map((w) => [w.row, w.label, w.predicted])).toEqual([
      [3, 1, 2],
      [1, 0, 1],
      [4, 2, 0],
    ]);
    expect(all[0].confidence).toBeCloseTo(0.9, 6);
    expect(all[1].confidence).toBe(all[2].confidence);
    expect(mostConfidentlyWrong(probs, labels, 3, 2).map((w) => w.row)).toEqual([3, 1]);
    expect(mostConfidentlyWrong(probs, labels, 3, 0)).toEqual([]);
  });

  it('refuses probabilities of the wrong shape and labels out of range', () => {
    expect(() => confusionMatrix(probs, labels, 4)).toThrow(/not \[6, 4\]/);
    expect(() => confusionMatrix(probs.subarray(0, 17), labels, 3)).toThrow(RangeError);
    expect(() => confusionMatrix(probs, new Int32Array([0, 0, 1, 1, 2, 3]), 3)).toThrow(/label 3 of row 5/);
    expect(() => mostConfidentlyWrong(probs, labels.subarray(0, 5), 3, 1)).toThrow(RangeError);
  });
});

const points: EpochPoint[] = [
  { epoch: 1, trainLoss: 0.9, validLoss: 0.5, validAccuracy: 0.85 },
  { epoch: 2, trainLoss: 0.4, validLoss: 0.35, validAccuracy: 0.9 },
  { epoch: 3, trainLoss: 0.3, validLoss: 0.3, validAccuracy: 0.92 },
  { epoch: 4, trainLoss: 0.25, validLoss: 0.28, validAccuracy: 0.93 },
];

describe('loss chart SVG', () => {
  it('parses as XML and draws each series with one point per epoch', () => {
    const svg = parseSvg(lossChartSvg(points, { title: 'run <1> & "more"' }));
    for (const id of ['train-loss', 'valid-loss', 'valid-accuracy']) {
      const g = group(svg, id);
      expect(g.circle).toHaveLength(points.length);
      expect(g.polyline).toHaveLength(1);
      expect(String(g.polyline![0].points).trim().split(/\s+/)).toHaveLength(points.length);
    }
    // y is linear in the value with a negative slope (higher is up), one scale for both losses and
    // another for accuracy; x is linear in the epoch.
    const ys = (id: string) => group(svg, id).circle!.map((c) => Number(c.cy));
    const slopes = (id: string, get: (p: EpochPoint) => number) =>
      ys(id).slice(1).map((y, i) => (y - ys(id)[0]) / (get(points[i + 1]) - get(points[0])));
    const lossSlopes = [...slopes('train-loss', (p) => p.trainLoss), ...slopes('valid-loss', (p) => p.validLoss)];
    for (const k of lossSlopes) expect(k / lossSlopes[0]).toBeCloseTo(1, 1); // to within the 0.1 px rounding
    expect(lossSlopes[0]).toBeLessThan(0);
    const accSlopes = slopes('valid-accuracy', (p) => p.validAccuracy);
    for (const k of accSlopes) expect(k / accSlopes[0]).toBeCloseTo(1, 2);
    expect(accSlopes[0]).toBeLessThan(0);
    // Accuracy has its own axis: 85% to 93% fills most of the 295 px plot, not a sliver of a 0-1 loss axis.
    expect(Math.max(...ys('valid-accuracy')) - Math.min(...ys('valid-accuracy'))).toBeGreaterThan(150);
    const xs = group(svg, 'valid-loss').circle!.map((c) => Number(c.cx));
    expect(xs[1] - xs[0]).toBeGreaterThan(0);
    for (let i = 2; i < xs.length; i++) expect(xs[i] - xs[i - 1]).toBeCloseTo(xs[1] - xs[0], 0);
    const titles = group(svg, 'valid-accuracy').circle!.map((c) => c.title);
    expect(titles).toEqual(['epoch 1: validation accuracy 85.00%', 'epoch 2: validation accuracy 90.00%', 'epoch 3: validation accuracy 92.00%', 'epoch 4: validation accuracy 93.00%']);
    const texts = JSON.stringify(svg.text);
    for (const label of ['epoch', 'loss (mean cross-entropy)', 'validation accuracy', 'run <1> & \\"more\\"']) expect(texts).toContain(label);
    const legend = JSON.stringify(group(svg, 'legend'));
    for (const name of ['train loss', 'validation loss', 'validation accuracy']) expect(legend).toContain(name);
  });

  it('leaves a gap at a NaN and draws a single epoch or none at all', () => {
    const gap = parseSvg(lossChartSvg(points.map((p, i) => (i === 1 ? { ...p, trainLoss: NaN } : p))));
    expect(group(gap, 'train-loss').circle).toHaveLength(3);
    expect(group(gap, 'train-loss').polyline).toHaveLength(1); // epochs 3-4; epoch 1 stands alone
    const one = parseSvg(lossChartSvg(points.slice(0, 1)));
    expect(group(one, 'valid-loss').circle).toHaveLength(1);
    const none = parseSvg(lossChartSvg([]));
    expect(group(none, 'train-loss').circle).toBeUndefined();
    expect(JSON.stringify(none.text)).toContain('no epoch yet');
  });

  it('picks round tick steps that cover the data', () => {
    expect(niceRange(0, 0.93, 6)).toEqual({ lo: 0, hi: 1, step: 0.2 });
    expect(niceRange(1, 5, 8, true)).toEqual({ lo: 1, hi: 5, step: 1 });
    const r = niceRange(0.851, 0.934, 6);
    expect(r.lo).toBeLessThanOrEqual(0.851);
    expect(r.hi).toBeGreaterThanOrEqual(0.934);
    expect(niceRange(3, 3, 8, true)).toEqual({ lo: 2, hi: 4, step: 1 });
  });
});

/** The callbacks here do not read the loop's progress; the loop passes it all the same. */
const progress: FitProgress = { epoch: 1, batch: 0, steps: 0, lossSum: 0, correct: 0, seen: 0, samplerState: null };

const epochEvent = (epoch: number, p: EpochPoint): EpochEvent => ({
  epoch,
  epochs: 3,
  steps: epoch * 10,
  trainLoss: p.trainLoss,
  trainAccuracy: 0.8,
  validLoss: p.validLoss,
  validAccuracy: p.validAccuracy,
  samples: 500,
  samplesPerSecond: 12345.678,
  seconds: 0.1,
  lr: 0.02,
  gradNorm: null,
});

describe('lossPlot callback', () => {
  it('rewrites the chart after every epoch and at the end, leaving no temporary file', () => {
    const sub = mkdtempSync(join(dir, 'plot-'));
    const file = join(sub, 'loss.svg');
    const cb = lossPlot(file);
    expect(existsSync(file)).toBe(false);
    cb.afterEpoch!(epochEvent(1, points[0]), progress);
    expect(group(parseSvg(readFileSync(file, 'utf8')), 'valid-accuracy').circle).toHaveLength(1);
    cb.afterEpoch!(epochEvent(2, points[1]), progress);
    const svg = parseSvg(readFileSync(file, 'utf8'));
    for (const id of ['train-loss', 'valid-loss', 'valid-accuracy']) expect(group(svg, id).circle).toHaveLength(2);
    rmSync(file);
    cb.afterFit!({ epochs: 2, steps: 20, samples: 1000, trainSeconds: 1, seconds: 1.2, validLoss: 0.35, validAccuracy: 0.9, interrupted: false }, progress);
    expect(group(parseSvg(readFileSync(file, 'utf8')), 'train-loss').circle).toHaveLength(2);
    expect(readdirSync(sub)).toEqual(['loss.svg']);
  });
});

/** a step's event; its lr falls with the step, as a schedule's would */
const stepEvent = (step: number, epoch: number, loss: number): StepEvent => ({ epoch, step, batch: step, batches: 10, loss, lr: 0.2 / step });
const readLines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('metricsLog callback', () => {
  it('starts the file afresh and writes step lines every N steps and a line per epoch', () => {
    const file = join(dir, 'metrics.jsonl');
    writeFileSync(file, '{"event":"old run"}\n');
    const cb = metricsLog(file, { batchSize: 50, every: 2 });
    expect(readFileSync(file, 'utf8')).toBe('');
    for (let s = 1; s <= 5; s++) cb.afterStep!(stepEvent(s, 1, 1 / s), progress);
    cb.afterEpoch!({ ...epochEvent(1, points[0]), steps: 5 }, progress);
    cb.afterStep!(stepEvent(6, 2, NaN), progress);
    const lines = readLines(file);
    expect(lines.map((l) => [l.event, l.step, l.epoch])).toEqual([
      ['step', 2, 1],
      ['step', 4, 1],
      ['epoch', 5, 1],
      ['step', 6, 2],
    ]);
    const steps = lines.filter((l) => l.event === 'step');
    for (const l of steps) {
      expect(Object.keys(l).sort()).toEqual(['epoch', 'event', 'loss', 'lr', 'samplesPerSecond', 'step', 'time']);
      expect(l.lr).toBe(0.2 / (l.step as number)); // the step's own
      expect(typeof l.samplesPerSecond === 'number' || l.samplesPerSecond === null).toBe(true);
    }
    expect(steps[0].loss).toBe(0.5);
    expect(steps[1].loss).toBe(0.25);
    expect(steps[2].loss).toBeNull(); // NaN is not JSON
    const epoch = lines[2];
    expect(Object.keys(epoch).sort()).toEqual(['epoch', 'event', 'gradNorm', 'lr', 'samplesPerSecond', 'step', 'time', 'trainAccuracy', 'trainLoss', 'validAccuracy', 'validLoss']);
    expect(epoch.gradNorm).toBeNull(); // no per-row norms in these events: written as null, not left out
    expect([epoch.trainLoss, epoch.validLoss, epoch.validAccuracy, epoch.samplesPerSecond, epoch.lr]).toEqual([0.9, 0.5, 0.85, 12345.7, 0.02]);
    const times = lines.map((l) => l.time as number);
    expect(times.every((t, i) => t >= 0 && (i === 0 || t >= times[i - 1]))).toBe(true);
  });

  it('times throughput from the previous step line, not across evaluation, and from where a resumed run starts', () => {
    let now = 1000; // ms
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const file = join(dir, 'throughput.jsonl');
      const cb = metricsLog(file, { batchSize: 50, every: 2 });
      // A run resumed after step 100: steps 101 and 102 take 1 s, so 100 samples/s.
      now = 1500;
      cb.afterStep!(stepEvent(101, 3, 0.5), progress);
      now = 2000;
      cb.afterStep!(stepEvent(102, 3, 0.5), progress);
      now = 2400;
      cb.afterStep!(stepEvent(103, 3, 0.5), progress);
      now = 2500; // 2 steps in 0.5 s: 200 samples/s
      cb.afterStep!(stepEvent(104, 3, 0.5), progress);
      now = 2600;
      cb.afterStep!(stepEvent(105, 3, 0.5), progress);
      now = 9000; // a slow evaluation ends the epoch
      cb.afterEpoch!({ ...epochEvent(3, points[2]), steps: 105 }, progress);
      now = 9250; // step 106 alone, in 0.25 s after the evaluation: 200 samples/s
      cb.afterStep!(stepEvent(106, 4, 0.5), progress);
      const lines = readLines(file);
      expect(lines.map((l) => [l.event, l.step, l.samplesPerSecond, l.time])).toEqual([
        ['step', 102, 100, 1],
        ['step', 104, 200, 1.5],
        ['epoch', 105, 12345.7, 8],
        ['step', 106, 200, 8.25],
      ]);
    } finally {
      clock.mockRestore();
    }
  });

  it('writes no step lines without `every`, and refuses a bad one', () => {
    const file = join(dir, 'epochs-only.jsonl');
    const cb = metricsLog(file, { batchSize: 10 });
    for (let s = 1; s <= 3; s++) cb.afterStep!(stepEvent(s, 1, 1), progress);
    cb.afterEpoch!(epochEvent(1, points[0]), progress);
    expect(readLines(file).map((l) => l.event)).toEqual(['epoch']);
    expect(() => metricsLog(file, { batchSize: 10, every: 0 })).toThrow(RangeError);
  });

  it('logs a real fit: step lines at the right steps, throughput from the batch size, and the plot', async () => {
    // 60 rows of 4 inputs, 3 classes that a linear layer can separate.
    const n = 60;
    const x = new Float32Array(n * 4);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      y[i] = i % 3;
      x[i * 4 + y[i]] = 1;
      x[i * 4 + 3] = (i % 7) / 7;
    }
    const split = { x, y, n, nIn: 4 };
    const data: Dataset = { train: split, valid: split, nIn: 4, nClasses: 3, source: 'synthetic' };
    const { engine, loader } = createTrainer(data, { hidden: [8], batchSize: 10, threads: 1 });
    const log = join(dir, 'fit.jsonl');
    const plot = join(dir, 'fit.svg');
    try {
      await fit(engine, loader, { epochs: 3, lr: 0.5 }, [metricsLog(log, { batchSize: 10, every: 4 }), lossPlot(plot)]);
    } finally {
      await engine.close();
    }
    const lines = readLines(log);
    // 6 steps an epoch, 18 in all: step lines at 4, 8, 12, 16; epoch lines after steps 6, 12, 18.
    expect(lines.map((l) => `${l.event}:${l.step}`)).toEqual(['step:4', 'epoch:6', 'step:8', 'step:12', 'epoch:12', 'step:16', 'epoch:18']);
    for (const l of lines) {
      expect(l.lr).toBe(0.5);
      expect(l.samplesPerSecond as number).toBeGreaterThan(0);
    }
    const epochs = lines.filter((l) => l.event === 'epoch');
    expect(epochs.map((l) => l.epoch)).toEqual([1, 2, 3]);
    for (const l of epochs) for (const k of ['trainLoss', 'validLoss', 'validAccuracy']) expect(Number.isFinite(l[k])).toBe(true);
    const svg = parseSvg(readFileSync(plot, 'utf8'));
    expect(group(svg, 'valid-loss').circle).toHaveLength(3);
  });
});

/** CRC-32 (IEEE), bit by bit: an independent check of the encoder's chunk CRCs. */
function crc32Ref(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of b) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** Decodes an 8-bit greyscale, filter-0 PNG as encodeGreyPng writes it, checking every chunk's CRC. */
function decodeGreyPng(png: Uint8Array): { width: number; height: number; pixels: Uint8Array } {
  expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: { type: string; data: Uint8Array }[] = [];
  for (let at = 8; at < png.length; ) {
    const len = v.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    expect(v.getUint32(at + 8 + len)).toBe(crc32Ref(png.subarray(at + 4, at + 8 + len)));
    chunks.push({ type, data: png.subarray(at + 8, at + 8 + len) });
    at += 12 + len;
  }
  expect(chunks.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
  const h = new DataView(chunks[0].data.buffer, chunks[0].data.byteOffset, 13);
  const width = h.getUint32(0);
  const height = h.getUint32(4);
  expect([...chunks[0].data.subarray(8)]).toEqual([8, 0, 0, 0, 0]);
  const raw = inflateSync(chunks[1].data);
  expect(raw.length).toBe(height * (width + 1));
  const pixels = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (width + 1)]).toBe(0);
    pixels.set(raw.subarray(y * (width + 1) + 1, (y + 1) * (width + 1)), y * width);
  }
  return { width, height, pixels };
}

describe('error gallery SVG', () => {
  it('encodes greyscale PNGs a decoder reads back', () => {
    const pixels = Uint8Array.from({ length: 5 * 3 }, (_, i) => (i * 17) & 255);
    const d = decodeGreyPng(encodeGreyPng(pixels, 5, 3));
    expect([d.width, d.height]).toEqual([5, 3]);
    expect([...d.pixels]).toEqual([...pixels]);
    expect(() => encodeGreyPng(pixels, 4, 3)).toThrow(RangeError);
  });

  it('draws one captioned image per pick, the pixels as dark ink on white', () => {
    // Three 4x4 images: image r has pixel r lit; the picks name rows 2 and 0.
    const x = new Float32Array(3 * 16);
    for (let r = 0; r < 3; r++) x[r * 16 + r] = 1;
    x[2 * 16 + 15] = 0.5;
    const picks = [
      { row: 2, label: 1, predicted: 7, confidence: 0.973 },
      { row: 0, label: 4, predicted: 9, confidence: 0.9996 },
    ];
    const svg = parseSvg(errorGallerySvg({ x, nIn: 16, picks, splitName: 'valid split', wrongCount: 5, total: 3 }));
    const cells = svg.g!.filter((g) => g.class === 'wrong');
    expect(cells).toHaveLength(2);
    expect(cells.map((g) => (g.text![0] as SvgNode)['#text'])).toEqual(['true 1 / pred 7 (97%)', 'true 4 / pred 9 (99.9%)']);
    expect(cells.map((g) => g.title)).toEqual([
      'valid split row 2: true 1, predicted 7 with probability 0.973000',
      'valid split row 0: true 4, predicted 9 with probability 0.999600',
    ]);
    const href = String(cells[0].image![0].href);
    expect(href.startsWith('data:image/png;base64,')).toBe(true);
    const img = decodeGreyPng(Buffer.from(href.slice('data:image/png;base64,'.length), 'base64'));
    expect([img.width, img.height]).toEqual([4, 4]);
    const expected = new Array(16).fill(255);
    expected[2] = 0;
    expected[15] = 127; // 255 - round(255 * 0.5)
    expect([...img.pixels]).toEqual(expected);
  });

  it('knows square images and words confidence without claiming 100% too early', () => {
    expect([imageSide(784), imageSide(16), imageSide(1), imageSide(783), imageSide(0)]).toEqual([28, 4, 1, null, null]);
    expect(() => errorGallerySvg({ x: new Float32Array(6), nIn: 6, picks: [], splitName: 's', wrongCount: 0, total: 1 })).toThrow(RangeError);
    expect([confidenceText(0.5), confidenceText(0.986), confidenceText(0.9996), confidenceText(1)]).toEqual(['50%', '99%', '99.9%', '100%']);
    const none = parseSvg(errorGallerySvg({ x: new Float32Array(4), nIn: 4, picks: [], splitName: 'valid split', wrongCount: 0, total: 1 }));
    expect(JSON.stringify(none.text)).toContain('No mistakes in 1 rows');
  });
});
