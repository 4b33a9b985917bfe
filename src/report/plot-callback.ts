import { atomicWrite } from '../io/atomic-write.js';
import type { Callback, EpochEvent } from '../train/fit.js';
import { lossChartSvg, type EpochPoint, type PlotOptions } from './svg-plot.js';

/**
 * A callback that keeps a loss chart (svg-plot.ts) of the run at `path` up to date: rewritten after
 * every epoch, so a browser reload shows a run in progress, and once more at the end (a run that
 * trains no epoch still gets an empty chart). Each write is atomic, so a reader never sees half a file.
 */
export function lossPlot(path: string, options: PlotOptions = {}): Callback {
  const points: EpochPoint[] = [];
  const write = () => atomicWrite(path, new TextEncoder().encode(lossChartSvg(points, options)));
  return {
    afterEpoch(e: EpochEvent) {
      points.push({ epoch: e.epoch, trainLoss: e.trainLoss, validLoss: e.validLoss, validAccuracy: e.validAccuracy });
      write();
    },
    afterFit: write,
  };
}
