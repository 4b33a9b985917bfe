#!/usr/bin/env node
import { hideBin } from 'yargs/helpers';
import { runMain } from './cli/main.js';
import { jsonReporter, progressBar, textReporter } from './cli/reporters.js';
import { parseTrainArgs, type TrainArgs } from './cli/train-args.js';
import { headSplit, type Dataset } from './data/dataset.js';
import { loadDataset } from './data/load.js';
import { Arena } from './engine/arena.js';
import { arenaAllocator } from './engine/arena-allocator.js';
import { saveWeights } from './io/weights.js';
import { createTrainer } from './trainer.js';
import { fit, type Callback } from './train/fit.js';

/** `node dist/train.js`: train the MLP and report each epoch. */
async function main(): Promise<void> {
  const args = parseTrainArgs(hideBin(process.argv));
  const arena = new Arena();
  const data = subset(loadDataset({ data: args.data, validSplit: args.validSplit, alloc: arenaAllocator(arena) }), args);
  const { engine, loader } = createTrainer(
    data,
    { hidden: args.hidden, batchSize: args.bs, seed: args.seed, init: args.init, kernel: args.kernel, threads: args.threads, shuffle: args.shuffle },
    arena,
  );
  const out = (s: string) => process.stdout.write(s);
  const callbacks: Callback[] = [];
  if (process.stderr.isTTY) callbacks.push(progressBar(process.stderr));
  callbacks.push(args.json ? jsonReporter(out) : textReporter(out));
  if (!args.json) {
    out(
      `MLP ${engine.layout.sizes.join('-')} on ${data.source}: ${data.train.n.toLocaleString('en-US')} train / ` +
        `${data.valid.n.toLocaleString('en-US')} valid; bs ${args.bs}, lr ${args.lr}, ${args.threads} threads, kernel ${args.kernel}\n`,
    );
  }
  try {
    const result = await fit(engine, loader, { epochs: args.epochs, lr: args.lr, maxSteps: args.steps }, callbacks);
    if (args.save) {
      saveWeights(args.save, engine.layout, engine.params, checkpointMetadata(args, data, result.epochs, result.steps));
      (args.json ? process.stderr : process.stdout).write(`saved weights to ${args.save}\n`);
    }
  } finally {
    await engine.close();
  }
}

function subset(data: Dataset, args: TrainArgs): Dataset {
  return {
    ...data,
    train: args.trainRows ? headSplit(data.train, args.trainRows) : data.train,
    valid: args.validRows ? headSplit(data.valid, args.validRows) : data.valid,
  };
}

function checkpointMetadata(args: TrainArgs, data: Dataset, epochs: number, steps: number): Record<string, string> {
  return {
    sizes: JSON.stringify([data.nIn, ...args.hidden, data.nClasses]),
    data: data.source,
    valid_split: args.validSplit,
    epochs: String(epochs),
    steps: String(steps),
    seed: String(args.seed),
    flags: JSON.stringify({ bs: args.bs, lr: args.lr, init: args.init, shuffle: args.shuffle, kernel: args.kernel }),
  };
}

runMain('train', main);
