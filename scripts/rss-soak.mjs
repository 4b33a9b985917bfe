// A long run on a small subset, to see that memory does not grow after the first epoch: prints the
// resident set size after each epoch and the growth from epoch 1 to the last.
//   node scripts/rss-soak.mjs --epochs 30 --threads 4 --rows 5000 --kernel js
import { parseArgs } from 'node:util';
import { Arena, arenaAllocator, createTrainer, fit, headSplit, loadMnist } from '../dist/index.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '30' },
    threads: { type: 'string', default: '4' },
    rows: { type: 'string', default: '5000' },
    kernel: { type: 'string', default: 'js' },
  },
});
const arena = new Arena();
const all = loadMnist({ alloc: arenaAllocator(arena) });
const data = { ...all, train: headSplit(all.train, Number(values.rows)), valid: headSplit(all.valid, 1000) };
const { engine, loader } = createTrainer(data, { threads: Number(values.threads), kernel: values.kernel }, arena);
const mb = () => process.memoryUsage().rss / 2 ** 20;
const rss = [];
await fit(engine, loader, { epochs: Number(values.epochs), lr: 0.1 }, [
  {
    afterEpoch: (e) => {
      rss.push(mb());
      console.log(`epoch ${String(e.epoch).padStart(3)}  rss ${rss.at(-1).toFixed(1)} MB  valid_acc ${(100 * e.validAccuracy).toFixed(2)}%`);
    },
  },
]);
await engine.close();
const after1 = rss.slice(1);
console.log(`rss after epoch 1: ${rss[0].toFixed(1)} MB; max after it: ${Math.max(...after1).toFixed(1)} MB; last: ${rss.at(-1).toFixed(1)} MB; growth epoch 1 -> last: ${(rss.at(-1) - rss[0]).toFixed(1)} MB`);
