import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { lrFindSvg } from '../src/report/lr-find-svg.js';
import {
  LR_SWEEP_DEFAULTS,
  LrFinder,
  SmoothLoss,
  schedExp,
  sweepEpochs,
  sweepIterations,
  sweepLr,
  sweepLrs,
} from '../src/train/lr-finder.js';
import { minimum, steep, suggestionInputs, suggestLrs, valley, type LrSuggestion } from '../src/train/lr-suggestions.js';

const f32 = Math.fround;
/** Float32Array inputs, as lr_find hands fastai's suggestion functions their tensors. */
const f32s = (vs: number[]) => Float32Array.from(vs);
/** lrs 10^-6, 10^-5, ... one per loss: evenly spaced in log lr. */
const decades = (n: number) => f32s(Array.from({ length: n }, (_, i) => 10 ** (i - 6)));

describe('the learning-rate sweep (LRFinder, SchedExp)', () => {
  it('uses fastai defaults: 1e-7 to 10 over 100 iterations', () => {
    expect(LR_SWEEP_DEFAULTS).toEqual({ startLr: 1e-7, endLr: 10, numIt: 100 });
  });

  it('starts at start_lr exactly and stops one step short of end_lr', () => {
    const lrs = sweepLrs();
    expect(lrs).toHaveLength(100);
    expect(lrs[0]).toBe(1e-7);
    // iteration 99 runs at pos 99/100: 1e-7 * 1e8^0.99 = 10^0.92
    expect(lrs[99]).toBeCloseTo(10 ** 0.92, 10);
    expect(lrs[99]).toBeLessThan(10);
    expect(sweepLr(100)).toBeCloseTo(10, 10); // the position 1 that no iteration reaches
  });

  it('is geometric: each lr is 10^(8/100) times the one before', () => {
    const lrs = sweepLrs();
    for (let i = 1; i < lrs.length; i++) expect(lrs[i] / lrs[i - 1]).toBeCloseTo(10 ** 0.08, 12);
  });

  it('raises num_it below 6 to 6, as LRFinder does', () => {
    expect(sweepIterations(3)).toBe(6);
    expect(sweepIterations(6)).toBe(6);
    expect(sweepIterations(7)).toBe(7);
    const lrs = sweepLrs({ startLr: 1e-3, endLr: 1, numIt: 3 });
    expect(lrs).toHaveLength(6);
    lrs.forEach((lr, i) => expect(lr).toBeCloseTo(1e-3 * 1000 ** (i / 6), 15));
  });

  it('sched_exp interpolates in log space', () => {
    expect(schedExp(1e-4, 1e-2, 0.5)).toBeCloseTo(1e-3, 15);
    expect(schedExp(2, 8, 0)).toBe(2);
  });

  it("asks fit for lr_find's epochs: num_it // batches + 1", () => {
    expect(sweepEpochs(100, 1000)).toBe(1);
    expect(sweepEpochs(100, 30)).toBe(4);
    expect(sweepEpochs(100, 100)).toBe(2);
  });
});

describe('the smoothed loss (AvgSmoothLoss)', () => {
  it('matches the debiased moving average worked by hand', () => {
    const s = new SmoothLoss();
    // val1 = 0.02 * 1 = 0.02;                    value = 0.02 / 0.02 = 1
    // val2 = 0.98 * 0.02 + 0.02 * 2 = 0.0596;     value = 0.0596 / (1 - 0.98^2) = 0.0596 / 0.0396
    // val3 = 0.98 * 0.0596 + 0.02 * 3 = 0.118408; value = 0.118408 / (1 - 0.98^3) = 0.118408 / 0.058808
    const expected = [1, 0.0596 / 0.0396, 0.118408 / 0.058808];
    [1, 2, 3].forEach((loss, i) => {
      s.accumulate(loss);
      expect(s.count).toBe(i + 1);
      expect(s.value).toBeCloseTo(expected[i], 5);
    });
  });

  it('holds float32 values, as fastai tensors do', () => {
    const s = new SmoothLoss();
    for (const loss of [2.302585, 1.7, 0.9]) {
      s.accumulate(loss);
      expect(f32(s.value)).toBe(s.value);
    }
    // The debiasing makes the first value the first loss, to float32 rounding.
    const t = new SmoothLoss();
    t.accumulate(2.302585);
    expect(Math.abs(t.value - 2.302585)).toBeLessThan(1e-5);
  });

  it("follows torch.lerp's other form for a beta below 0.5", () => {
    const s = new SmoothLoss(0.25);
    s.accumulate(4); // val = 0.75 * 4 = 3; value = 3 / 0.75 = 4
    expect(s.value).toBe(4);
    s.accumulate(8); // val = 8 + 0.25 * (3 - 8) = 6.75; value = 6.75 / (1 - 0.0625) = 7.2
    expect(s.value).toBeCloseTo(7.2, 6);
  });

  it("rounds as fastai's float32 tensors do, bit for bit", () => {
    // Worked with numpy float32 scalars: val = end - (end - loss) * (1 - beta) for beta >= 0.5,
    // loss + beta * (end - loss) below (torch.lerp's two forms), value = val / float32(1 - beta**count).
    const cases: [number, number[], number[]][] = [
      [
        0.98,
        [2.302585, 2.1, 1.9, 3.7, 0.5, 1.25, 0.8, 0.6],
        // the 7th differs in its last bit if 1 - beta**count is not first rounded to float32
        [2.3025827407836914, 2.2002670764923096, 2.098148822784424, 2.510826826095581, 2.092249870300293, 1.9446907043457031, 1.771087408065796, 1.6141440868377686],
      ],
      [0.25, [1.0, 0.1, 0.7, 3.3], [1.0, 0.2800000011920929, 0.5999999642372131, 2.632941246032715]],
    ];
    for (const [beta, losses, expected] of cases) {
      const s = new SmoothLoss(beta);
      expect(
        losses.map((l) => {
          s.accumulate(l);
          return s.value;
        }),
      ).toEqual(expected);
    }
  });

  it('is NaN before any loss (0 / 0)', () => {
    expect(new SmoothLoss().value).toBeNaN();
  });
});

describe('the stop rule (LRFinder.after_batch)', () => {
  it('runs num_it iterations and records each, the lr it was given included', () => {
    const finder = new LrFinder({ numIt: 10 });
    const records = [];
    while (!finder.stopped) {
      const lr = finder.nextLr();
      const r = finder.record(1);
      expect(r.lr).toBe(lr);
      records.push(r);
    }
    expect(records).toHaveLength(10);
    expect(records.slice(0, 9).every((r) => r.stop === null)).toBe(true);
    expect(records[9]).toMatchObject({ iter: 9, stop: 'done' });
    expect(finder.lrs).toEqual(sweepLrs({ ...LR_SWEEP_DEFAULTS, numIt: 10 }));
    expect(finder.losses).toHaveLength(10);
    expect(() => finder.record(1)).toThrow(/ended/);
  });

  it('stops at the first smoothed loss above 4 x the best, after recording it', () => {
    const finder = new LrFinder();
    const losses = [...Array<number>(10).fill(1), 1000, 1000];
    let last;
    for (const loss of losses) {
      last = finder.record(loss);
      if (last.stop) break;
    }
    // Ten losses of 1 smooth to 1; the 11th: (0.98 val10 + 0.02 * 1000) / (1 - 0.98^11), val10 = 1 - 0.98^10
    const val10 = 1 - 0.98 ** 10;
    const smooth11 = (0.98 * val10 + 20) / (1 - 0.98 ** 11);
    expect(smooth11).toBeGreaterThan(4);
    expect(last).toMatchObject({ iter: 10, stop: 'diverged' });
    expect(last!.smoothLoss).toBeCloseTo(smooth11, 3);
    expect(last!.bestLoss).toBeCloseTo(1, 5);
    expect(finder.lrs).toHaveLength(11);
    expect(finder.losses[10]).toBe(last!.smoothLoss);
  });

  it('does not stop on a rise to below 4 x the best', () => {
    const finder = new LrFinder({ numIt: 20 });
    // Smoothed: 1 for five steps, then rising towards 3.5 but never past 4.
    const losses = [...Array<number>(5).fill(1), ...Array<number>(15).fill(3.5)];
    const stops = losses.map((l) => finder.record(l).stop);
    expect(stops.slice(0, 19).every((s) => s === null)).toBe(true);
    expect(stops[19]).toBe('done');
    expect(Math.max(...finder.losses)).toBeLessThan(4);
    expect(Math.max(...finder.losses)).toBeGreaterThan(1.5);
  });

  it('never diverges with stop_div off', () => {
    const finder = new LrFinder({ numIt: 12, stopDiv: false });
    for (const l of [1, 1, 1e6, 1e9, Infinity, 1, 1, 1, 1, 1, 1]) expect(finder.record(l).stop).toBeNull();
    expect(finder.record(1).stop).toBe('done');
  });

  it('is not stopped by a NaN loss (comparisons with NaN are false), but is by +inf', () => {
    const nan = new LrFinder({ numIt: 8 });
    const records = [1, 1, NaN, 1, 1, 1, 1, 1].map((l) => nan.record(l));
    expect(records.slice(0, 7).map((r) => r.stop)).toEqual(Array(7).fill(null));
    expect(records[7].stop).toBe('done');
    // the average stays NaN from there on, and never becomes the best
    expect(nan.losses.slice(2).every(Number.isNaN)).toBe(true);
    expect(records[7].bestLoss).toBeCloseTo(1, 5);

    const inf = new LrFinder({ numIt: 8 });
    expect(inf.record(1).stop).toBeNull();
    expect(inf.record(Infinity).stop).toBe('diverged');
  });

  it('cannot diverge on its first iteration: the best is updated before the check', () => {
    const finder = new LrFinder();
    expect(finder.record(1e30).stop).toBeNull();
  });

  it('rejects settings that give no sweep', () => {
    expect(() => new LrFinder({ startLr: 0 })).toThrow(RangeError);
    expect(() => new LrFinder({ endLr: -1 })).toThrow(RangeError);
    expect(() => new LrFinder({ numIt: 2.5 })).toThrow(RangeError);
  });
});

describe("lr_find's preparation of the recorded lists", () => {
  const lrs = sweepLrs();

  it('keeps [num_it//10 : -5] as float32', () => {
    const losses = lrs.map((_, i) => 3 - i / 100);
    const inputs = suggestionInputs(lrs, losses, 100);
    expect(inputs.lrs).toBeInstanceOf(Float32Array);
    expect(inputs.lrs).toHaveLength(85);
    expect(inputs.lrs[0]).toBe(f32(lrs[10]));
    expect(inputs.lrs[84]).toBe(f32(lrs[94]));
    expect(inputs.losses[0]).toBe(f32(2.9));
  });

  it('cuts both lists before the first NaN loss', () => {
    const losses = lrs.map((_, i) => (i === 50 || i === 60 ? NaN : 1));
    const inputs = suggestionInputs(lrs, losses, 100);
    expect(inputs.losses).toHaveLength(40);
    expect(inputs.lrs[39]).toBe(f32(lrs[49]));
  });

  it('ignores a NaN among the last five points, which the slice drops anyway', () => {
    const losses = lrs.map((_, i) => (i === 97 ? NaN : 1));
    expect(suggestionInputs(lrs, losses, 100).losses).toHaveLength(85);
  });

  it("follows Python's slice rules on a short record", () => {
    // a diverged sweep: 12 points with num_it 20 keep [2 : 7]
    expect(suggestionInputs(lrs.slice(0, 12), Array<number>(12).fill(1), 20).lrs).toEqual(f32s(lrs.slice(2, 7)));
    // 8 points with num_it 100: the start (10) is past the stop (3): nothing
    expect(suggestionInputs(lrs.slice(0, 8), Array<number>(8).fill(1), 100).lrs).toHaveLength(0);
    // 4 points: the stop -5 is before the start
    expect(suggestionInputs(lrs.slice(0, 4), Array<number>(4).fill(1), 3).lrs).toHaveLength(0);
  });

  it('slices with num_it as asked, not as LRFinder raises it', () => {
    // num_it 3: start 3 // 10 = 0
    expect(suggestionInputs(lrs.slice(0, 6), Array<number>(6).fill(1), 3).lrs).toEqual(f32s([lrs[0]]));
  });
});

describe('valley', () => {
  it('suggests int(L/3) + int(L/6) along the longest valley', () => {
    // Longest strictly falling run: 3 (any of indices 0-2), 2.5, 2, 1.5, 1, 0.5 at indices 3-7;
    // lds[7] = 6, max_end 7, max_start 7 - 6 = 1; sections 6 / 3 = 2; idx = 1 + 2 + 1 = 4.
    const losses = f32s([3, 3, 3, 2.5, 2, 1.5, 1, 0.5, 1, 4]);
    const lrs = decades(10);
    const s = valley(lrs, losses)!;
    expect(s).toEqual({ name: 'valley', lr: lrs[4], point: { lr: lrs[4], loss: 2 } });
  });

  it('lands on the plateau before the drop', () => {
    // Equal losses are no valley: lds stays 1 until index 4. max_end 6 (lds 4), max_start 2;
    // sections 4 / 3; idx = 2 + 1 + 0 = 3, the plateau's last point.
    const losses = f32s([2, 2, 2, 2, 1.5, 1, 0.8, 3]);
    const lrs = decades(8);
    expect(valley(lrs, losses)).toEqual({ name: 'valley', lr: lrs[3], point: { lr: lrs[3], loss: 2 } });
  });

  it('gives the first lr when the loss never falls', () => {
    const lrs = decades(5);
    expect(valley(lrs, f32s([1, 2, 3, 4, 5]))!.lr).toBe(lrs[0]);
    expect(valley(lrs, f32s([2, 2, 2, 2, 2]))!.lr).toBe(lrs[0]);
  });

  it("wraps an index of -1 to the last point, as Python's indexing does", () => {
    // lds[1] = 2, max_start = 1 - 2 = -1; sections 2 / 3; idx = -1 + 0 + 0 = -1
    const lrs = decades(5);
    expect(valley(lrs, f32s([2, 1, 3, 4, 5]))).toEqual({ name: 'valley', lr: lrs[4], point: { lr: lrs[4], loss: 5 } });
  });

  it('starts a valley that begins at index 0 from max_start -1', () => {
    // [5, 4, 3, 2, 1, ...]: max_end 4, lds 5, max_start -1; sections 5/3; idx = -1 + 1 + 0 = 0
    const lrs = decades(7);
    expect(valley(lrs, f32s([5, 4, 3, 2, 1, 2, 3]))!.lr).toBe(lrs[0]);
  });

  it('takes a single point as it is and has nothing for none', () => {
    expect(valley(f32s([1e-3]), f32s([0.7]))).toEqual({ name: 'valley', lr: f32(1e-3), point: { lr: f32(1e-3), loss: f32(0.7) } });
    expect(valley(f32s([]), f32s([]))).toBeNull();
  });
});

describe('minimum', () => {
  it('suggests a tenth of the lr at the lowest loss, marked at the minimum', () => {
    const lrs = decades(5);
    const s = minimum(lrs, f32s([3, 2, 1, 1, 2]))!;
    // the first of the tied minima, index 2
    expect(s).toEqual({ name: 'minimum', lr: lrs[2] / 10, point: { lr: lrs[2], loss: 1 } });
  });

  it("takes a NaN as the minimum, as torch's argmin does", () => {
    const lrs = decades(4);
    expect(minimum(lrs, f32s([3, NaN, 1, NaN]))!.point.lr).toBe(lrs[1]);
  });

  it('has nothing for no points', () => {
    expect(minimum(f32s([]), f32s([]))).toBeNull();
  });
});

describe('steep', () => {
  it('suggests the left end of the steepest fall', () => {
    // even log spacing: grads are the loss steps / ln 10: -0.1, -0.9, -0.5, 2.5 -> index 1
    const lrs = decades(5);
    expect(steep(lrs, f32s([3, 2.9, 2, 1.5, 4]))).toEqual({ name: 'steep', lr: lrs[1], point: { lr: lrs[1], loss: f32(2.9) } });
  });

  it('measures the slope against log lr, not per step', () => {
    // steps -1, -0.1, -0.9 over ln 10, ln 1.1, ln(1e-2 / 1.1e-3): slopes -0.434, -1.049, -0.408
    const lrs = f32s([1e-4, 1e-3, 1.1e-3, 1e-2]);
    const s = steep(lrs, f32s([3, 2, 1.9, 1]))!;
    expect(s.lr).toBe(f32(1e-3));
    expect(s.point.loss).toBe(2);
  });

  it('needs two points', () => {
    expect(steep(f32s([1e-3]), f32s([1]))).toBeNull();
  });
});

describe('suggestLrs (lr_find end to end on recorded lists)', () => {
  // 20 recorded points with num_it 20: the suggestions see raw indices [2 : 15]
  const lrs = sweepLrs({ startLr: 1e-6, endLr: 1, numIt: 20 });
  const losses = [9, 9, 5, 5, 5, 5, 4, 2.5, 2, 1, 2, 3, 4, 5, 6, 50, 60, 70, 80, 90];

  it('gives each method on the sliced lists', () => {
    const [v, m, s] = suggestLrs(lrs, losses, 20, ['valley', 'minimum', 'steep']);
    // valley: local [5,5,5,5,4,2.5,2,1,...]: max_end 7 (lds 5), max_start 2, idx 2 + 1 + 0 = 3 -> raw 5
    expect(v).toEqual({ name: 'valley', lr: f32(lrs[5]), point: { lr: f32(lrs[5]), loss: 5 } });
    // minimum: loss 1 at raw 9
    expect(m).toEqual({ name: 'minimum', lr: f32(lrs[9]) / 10, point: { lr: f32(lrs[9]), loss: 1 } });
    // steep: the -1.5 step from raw 6 to 7
    expect(s).toEqual({ name: 'steep', lr: f32(lrs[6]), point: { lr: f32(lrs[6]), loss: 4 } });
  });

  it('defaults to valley alone', () => {
    expect(suggestLrs(lrs, losses, 20).map((s) => s.name)).toEqual(['valley']);
  });

  it('drops from the first NaN before suggesting', () => {
    const withNan = losses.map((l, i) => (i === 8 ? NaN : l));
    const [m] = suggestLrs(lrs, withNan, 20, ['minimum']);
    // raw [2 : 8] = [5, 5, 5, 5, 4, 2.5]: the minimum is raw 7
    expect(m.point).toEqual({ lr: f32(lrs[7]), loss: 2.5 });
  });

  it('has no suggestion from a record too short to slice', () => {
    expect(suggestLrs(lrs.slice(0, 8), losses.slice(0, 8), 100, ['valley', 'minimum', 'steep'])).toEqual([]);
  });

  it('finds the dip of a swept synthetic loss and stops where it blows up', () => {
    // loss against lr: flat at 2 for small lrs, falling to 0.5 about lr 1e-2, exploding past 1
    const lossAt = (lr: number) => 0.5 + 1.5 / (1 + (lr / 1e-3) ** 2) + (lr / 0.3) ** 4;
    const finder = new LrFinder();
    while (!finder.stopped) finder.record(lossAt(finder.nextLr()));
    expect(finder.stopped).toBe('diverged');
    expect(finder.lrs.length).toBeLessThan(100);
    const [v, m] = suggestLrs(finder.lrs, finder.losses, 100, ['valley', 'minimum']);
    expect(v.lr).toBeGreaterThan(1e-4);
    expect(v.lr).toBeLessThan(1e-1);
    expect(m.point.lr).toBeGreaterThan(1e-3);
    expect(m.point.lr).toBeLessThan(1);
  });
});

// ---- the chart ----

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseTagValue: false,
  isArray: (name) => ['g', 'circle', 'polyline', 'text', 'line', 'rect'].includes(name),
});

interface SvgNode {
  [k: string]: unknown;
  g?: SvgNode[];
  circle?: SvgNode[];
  polyline?: SvgNode[];
  line?: SvgNode[];
  text?: (SvgNode | string)[];
}

function parseSvg(xml: string): SvgNode {
  expect(XMLValidator.validate(xml)).toBe(true);
  const doc = parser.parse(xml) as { svg: SvgNode };
  expect(doc.svg.xmlns).toBe('http://www.w3.org/2000/svg');
  return doc.svg;
}

function group(node: SvgNode, id: string): SvgNode {
  const g = node.g?.find((x) => x.id === id);
  if (!g) throw new Error(`no <g id="${id}">`);
  return g;
}

const textOf = (t: SvgNode | string) => (typeof t === 'string' ? t : String(t['#text']));
const num = (v: unknown) => Number(v);

/** The labelled ticks of an axis group: label -> coordinate. */
function tickLabels(g: SvgNode, coord: 'x' | 'y'): { label: string; at: number }[] {
  return (g.text ?? []).map((t) => ({ label: textOf(t), at: num((t as SvgNode)[coord]) }));
}

describe('lrFindSvg', () => {
  // A default sweep that diverged at iteration 90: the last 5 recorded points are huge.
  const lrs = sweepLrs().slice(0, 91);
  const losses = lrs.map((lr, i) => (i >= 86 ? 100 + i : 2 - Math.log10(lr) / 10));
  const suggestions: LrSuggestion[] = [
    { name: 'valley', lr: 2.0892961e-3, point: { lr: 2.0892961e-3, loss: 1.8 } },
    { name: 'minimum', lr: 1e-3, point: { lr: 1e-2, loss: 2.1 } },
  ];
  const svg = parseSvg(lrFindSvg(lrs, losses, suggestions, { title: 'lr <find> & "co"', lrRange: [1e-7, 10] }));

  it('is valid XML with an escaped title and both axis labels', () => {
    const texts = (svg.text ?? []).map(textOf);
    expect(texts).toContain('lr <find> & "co"');
    expect(texts).toContain('learning rate (log scale)');
    expect(texts).toContain('loss (smoothed)');
  });

  it('labels each decade from 1e-7 to 10, evenly spaced and increasing', () => {
    const ticks = tickLabels(group(svg, 'x-axis'), 'x');
    expect(ticks.map((t) => t.label)).toEqual(['1e-7', '1e-6', '1e-5', '1e-4', '1e-3', '1e-2', '1e-1', '1', '10']);
    const gaps = ticks.slice(1).map((t, i) => t.at - ticks[i].at);
    for (const g of gaps) {
      expect(g).toBeGreaterThan(0);
      expect(Math.abs(g - gaps[0])).toBeLessThan(0.15);
    }
  });

  it('puts minor ticks at 2..9 times each power of ten, on a log scale', () => {
    const ticks = tickLabels(group(svg, 'x-axis'), 'x');
    const decadeW = ticks[1].at - ticks[0].at;
    const minor = (group(svg, 'x-axis').line ?? []).filter((l) => l.class === 'minor').map((l) => num(l.x1));
    expect(minor).toHaveLength(8 * 8);
    // the first decade's: 2e-7 ... 9e-7
    minor.slice(0, 8).forEach((x, i) => expect(x - ticks[0].at).toBeCloseTo(Math.log10(i + 2) * decadeW, 0));
  });

  it('leaves the last 5 points off the curve and out of the y range', () => {
    const curve = group(svg, 'loss-curve');
    expect(curve.polyline).toHaveLength(1);
    expect(String(curve.polyline![0].points).split(' ')).toHaveLength(86);
    const yLabels = tickLabels(group(svg, 'y-axis'), 'y').map((t) => Number(t.label));
    expect(Math.max(...yLabels)).toBeLessThan(100);
    expect(Math.max(...yLabels)).toBeGreaterThanOrEqual(2.7); // the kept curve's top, 2 + 0.7
  });

  it('marks each suggestion at its point, with its name and lr', () => {
    const xTicks = tickLabels(group(svg, 'x-axis'), 'x');
    // y: each label's value at its grid line (the label itself sits a little below, on its baseline)
    const yAxis = group(svg, 'y-axis');
    const grid = (yAxis.line ?? []).filter((l) => l.stroke === '#e5e5e5').map((l) => num(l.y1));
    const yTicks = tickLabels(yAxis, 'y').map((t, i) => ({ label: t.label, at: grid[i] }));
    expect(grid).toHaveLength(yTicks.length);
    const decadeW = xTicks[1].at - xTicks[0].at;
    const xAt = (lr: number) => xTicks[0].at + (Math.log10(lr) + 7) * decadeW;
    const [y0, y1] = [yTicks[0], yTicks[yTicks.length - 1]];
    const yAt = (v: number) => y0.at + ((v - Number(y0.label)) / (Number(y1.label) - Number(y0.label))) * (y1.at - y0.at);
    const marks = group(svg, 'suggestions');
    const expected = [
      { id: 'suggestion-valley', label: 'valley 2.1e-3', lr: 2.0892961e-3, loss: 1.8 },
      { id: 'suggestion-minimum', label: 'minimum 1.0e-3', lr: 1e-2, loss: 2.1 },
    ];
    for (const e of expected) {
      const g = group(marks, e.id);
      expect(g.circle).toHaveLength(1);
      expect(num(g.circle![0].cx)).toBeCloseTo(xAt(e.lr), 0);
      expect(num(g.circle![0].cy)).toBeCloseTo(yAt(e.loss), 0);
      expect(g.text!.map(textOf)).toEqual([e.label]);
    }
    expect(num(group(marks, 'suggestion-valley').circle![0].cx)).toBeLessThan(num(group(marks, 'suggestion-minimum').circle![0].cx));
    const legend = (group(svg, 'legend').text ?? []).map(textOf);
    expect(legend).toEqual(['smoothed loss', 'valley 2.1e-3', 'minimum 1.0e-3']);
  });

  it('breaks the curve at a NaN loss', () => {
    const withNan = losses.map((l, i) => (i === 40 ? NaN : l));
    const s = parseSvg(lrFindSvg(lrs, withNan));
    const lines = group(s, 'loss-curve').polyline!;
    expect(lines.map((p) => String(p.points).split(' ').length)).toEqual([40, 45]);
  });

  it('keeps every point with skipEnd 0, and spans only the decades it needs', () => {
    const s = parseSvg(lrFindSvg([1e-4, 3e-4, 1e-3, 5e-3], [1, 0.8, 0.6, 0.9], [], { skipEnd: 0 }));
    expect(String(group(s, 'loss-curve').polyline![0].points).split(' ')).toHaveLength(4);
    expect(tickLabels(group(s, 'x-axis'), 'x').map((t) => t.label)).toEqual(['1e-4', '1e-3', '1e-2']);
  });

  it('says so when there is nothing to plot', () => {
    const s = parseSvg(lrFindSvg([1e-7, 1e-6], [2, 2]));
    expect((s.text ?? []).map(textOf)).toContain('no recorded points to plot');
    expect(group(s, 'loss-curve').polyline ?? []).toHaveLength(0);
  });
});
