/**
 * The learning-rate finder's chart as a standalone SVG, as fastai's `Recorder.plot_lr_find` draws
 * it: the smoothed loss against the learning rate on a logarithmic x axis, without the last
 * `skipEnd` (5) recorded points, where the loss has usually blown up and would squash the curve,
 * and each suggestion marked at its (lr, loss) point in the colours after the curve's. Plain SVG
 * 1.1 text, no script: it opens in any browser and parses as XML.
 */

import type { LrSuggestion } from '../train/lr-suggestions.js';
import { escapeXml, fmt, niceRange, runs, ticks } from './svg-plot.js';

export interface LrFindPlotOptions {
  title?: string;
  /** recorded points left off the end (plot_lr_find's skip_end, default 5; 0 keeps all) */
  skipEnd?: number;
  /**
   * [startLr, endLr]: the sweep's whole range, which the x axis then spans whole decades of even
   * where the sweep stopped early (default: the plotted points' decades)
   */
  lrRange?: readonly [number, number];
}

const W = 720;
const H = 420;
const M = { left: 70, right: 30, top: 70, bottom: 55 };
/** matplotlib's default colour cycle: the curve takes the first, suggestions the ones after it, in order. */
const CYCLE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

/**
 * `lrs`, `losses`: [iterations recorded], the sweep's learning rates and smoothed losses
 * (LrFinder.lrs and .losses). `suggestions`: from suggestLrs, marked in order.
 */
export function lrFindSvg(
  lrs: readonly number[],
  losses: readonly number[],
  suggestions: readonly LrSuggestion[] = [],
  opts: LrFindPlotOptions = {},
): string {
  const skipEnd = opts.skipEnd ?? 5;
  // Python's [:-skip_end]: nothing when there are skip_end points or fewer.
  const kept = skipEnd === 0 ? lrs.length : Math.max(lrs.length - skipEnd, 0);
  const points = lrs.slice(0, kept).map((lr, i) => ({ lr, loss: losses[i] }));
  const drawable = (p: { lr: number; loss: number }) => p.lr > 0 && Number.isFinite(p.lr) && Number.isFinite(p.loss);
  const shown = [...points, ...suggestions.map((s) => s.point)].filter(drawable);

  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const xr = decadeRange([...shown.map((p) => p.lr), ...(opts.lrRange ?? []).filter((lr) => lr > 0 && Number.isFinite(lr))]);
  const yr = shown.length
    ? niceRange(Math.min(...shown.map((p) => p.loss)), Math.max(...shown.map((p) => p.loss)), 6)
    : { lo: 0, hi: 1, step: 0.2 };
  const sx = (lr: number) => M.left + ((Math.log10(lr) - xr.lo) / (xr.hi - xr.lo)) * plotW;
  const sy = (v: number) => M.top + plotH - ((v - yr.lo) / (yr.hi - yr.lo)) * plotH;
  const f = (v: number) => v.toFixed(1);
  const bottom = M.top + plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title ?? 'Learning rate finder')}</text>`,
    `<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`,
  );

  // x: a labelled tick and grid line at each power of ten, short unlabelled ticks at 2..9 times it.
  out.push('<g id="x-axis" stroke="#000" stroke-width="1">');
  for (let k = xr.lo; k <= xr.hi; k++) {
    const x = f(sx(10 ** k));
    out.push(`<line class="decade" x1="${x}" y1="${M.top}" x2="${x}" y2="${bottom}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 6}"/>`);
    out.push(`<text x="${x}" y="${bottom + 20}" text-anchor="middle" stroke="none">${decadeLabel(k)}</text>`);
    if (k < xr.hi) {
      for (let m = 2; m <= 9; m++) {
        const xm = f(sx(m * 10 ** k));
        out.push(`<line class="minor" x1="${xm}" y1="${bottom}" x2="${xm}" y2="${bottom + 3}"/>`);
      }
    }
  }
  out.push('</g>');

  out.push('<g id="y-axis" stroke="#000" stroke-width="1">');
  for (const t of ticks(yr)) {
    const y = f(sy(t));
    out.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + plotW}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<line x1="${M.left - 5}" y1="${y}" x2="${M.left}" y2="${y}"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(sy(t) + 4)}" text-anchor="end" stroke="none">${fmt(t)}</text>`);
  }
  out.push('</g>');
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">learning rate (log scale)</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">loss (smoothed)</text>`,
  );

  // The curve: a polyline through each run of drawable points (a gap where a loss is NaN or inf).
  out.push(`<g id="loss-curve" fill="none" stroke="${CYCLE[0]}" stroke-width="2">`);
  for (const run of runs(points, drawable)) {
    if (run.length > 1) out.push(`<polyline points="${run.map((p) => `${f(sx(p.lr))},${f(sy(p.loss))}`).join(' ')}"/>`);
  }
  out.push('</g>');

  // Suggestions: a dot at each point and its name and lr beside it; the labels step upwards so
  // that suggestions on the same point stay readable, and flip left near the right edge.
  out.push('<g id="suggestions">');
  suggestions.forEach((s, i) => {
    if (!drawable(s.point)) return;
    const color = CYCLE[1 + (i % (CYCLE.length - 1))];
    const cx = sx(s.point.lr);
    const cy = sy(s.point.loss);
    const right = cx > M.left + 0.7 * plotW;
    const label = `${s.name} ${lrLabel(s.lr)}`;
    const about = `${s.name}: suggests lr ${lrLabel(s.lr)}; marks lr ${lrLabel(s.point.lr)}, loss ${s.point.loss.toPrecision(4)}`;
    out.push(`<g id="suggestion-${s.name}" fill="${color}">`);
    out.push(`<circle cx="${f(cx)}" cy="${f(cy)}" r="5" stroke="#fff" stroke-width="1"><title>${escapeXml(about)}</title></circle>`);
    out.push(
      `<text x="${f(right ? cx - 8 : cx + 8)}" y="${f(cy - 8 - 15 * i)}" text-anchor="${right ? 'end' : 'start'}" font-weight="bold">${escapeXml(label)}</text>`,
    );
    out.push('</g>');
  });
  out.push('</g>');

  // Legend, above the plot so it never covers the curve.
  out.push('<g id="legend">');
  const legend = [{ name: 'smoothed loss', color: CYCLE[0], dot: false }].concat(
    suggestions.map((s, i) => ({ name: `${s.name} ${lrLabel(s.lr)}`, color: CYCLE[1 + (i % (CYCLE.length - 1))], dot: true })),
  );
  legend.forEach((e, i) => {
    const x = M.left + i * 150;
    const y = M.top - 22;
    out.push(
      e.dot
        ? `<circle cx="${x + 14}" cy="${y}" r="5" fill="${e.color}"/>`
        : `<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${e.color}" stroke-width="2"/>`,
    );
    out.push(`<text x="${x + 34}" y="${y + 4}">${escapeXml(e.name)}</text>`);
  });
  out.push('</g>');
  if (points.filter(drawable).length === 0) {
    out.push(`<text x="${M.left + plotW / 2}" y="${M.top + plotH / 2}" text-anchor="middle" fill="#888">no recorded points to plot</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The powers of ten, as exponents, that enclose `lrs` (at least one decade); fastai's default sweep's without data. */
function decadeRange(lrs: readonly number[]): { lo: number; hi: number } {
  if (lrs.length === 0) return { lo: -7, hi: 1 };
  const logs = lrs.map(Math.log10);
  // A small tolerance so 10^k computed as 0.0009999999 still sits on its decade.
  const lo = Math.floor(Math.min(...logs) + 1e-9);
  const hi = Math.max(Math.ceil(Math.max(...logs) - 1e-9), lo + 1);
  return { lo, hi };
}

/** 10^k as a tick label: 1e-7 ... 1e-1, 1, 10, 1e2 ... */
function decadeLabel(k: number): string {
  if (k === 0) return '1';
  if (k === 1) return '10';
  return `1e${k}`;
}

/** A learning rate to two significant figures: 0.0020892 -> 2.1e-3. */
function lrLabel(lr: number): string {
  return lr.toExponential(1).replace('e+', 'e');
}
