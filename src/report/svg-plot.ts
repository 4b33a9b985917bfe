/**
 * A line chart of a training run as a standalone SVG: train and validation loss against epoch on
 * the left axis, validation accuracy on the right. Plain SVG 1.1 text, no script: it opens in any
 * browser and parses as XML.
 */

/** One epoch's figures, as EpochEvent carries them. */
export interface EpochPoint {
  epoch: number;
  trainLoss: number;
  validLoss: number;
  /** in [0, 1] */
  validAccuracy: number;
}

export interface PlotOptions {
  title?: string;
}

const W = 720;
const H = 420;
const M = { left: 70, right: 80, top: 70, bottom: 55 };
const COLORS = { train: '#1f77b4', valid: '#ff7f0e', acc: '#2ca02c' };

/** The series ids double as the SVG ids of their groups, so tests and stylesheets can find them. */
export const SERIES = [
  { id: 'train-loss', name: 'train loss', color: COLORS.train, axis: 'loss', dash: '', get: (p: EpochPoint) => p.trainLoss },
  { id: 'valid-loss', name: 'validation loss', color: COLORS.valid, axis: 'loss', dash: '', get: (p: EpochPoint) => p.validLoss },
  { id: 'valid-accuracy', name: 'validation accuracy', color: COLORS.acc, axis: 'acc', dash: '6 4', get: (p: EpochPoint) => p.validAccuracy },
] as const;

export function lossChartSvg(points: readonly EpochPoint[], opts: PlotOptions = {}): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const finite = (vs: number[]) => vs.filter(Number.isFinite);
  const epochs = points.map((p) => p.epoch);
  const losses = finite(points.flatMap((p) => [p.trainLoss, p.validLoss]));
  const accs = finite(points.map((p) => p.validAccuracy));

  // Epochs are whole numbers: one epoch gets a little room either side rather than a zero-width axis.
  const xr = epochs.length ? niceRange(Math.min(...epochs), Math.max(...epochs), 8, true) : { lo: 0, hi: 1, step: 1 };
  // Losses are positive: a zero baseline shows how far they fell. Accuracy spans only its own values,
  // else 96% and 97% would sit on top of each other.
  const lr = niceRange(0, losses.length ? Math.max(...losses) : 1, 6);
  const ar = accs.length ? niceRange(Math.min(...accs), Math.max(...accs), 6) : { lo: 0, hi: 1, step: 0.2 };
  const ax = { lo: Math.max(0, ar.lo), hi: Math.min(1, ar.hi), step: ar.step };
  if (ax.hi <= ax.lo) ax.hi = Math.min(1, ax.lo + ax.step);

  const sx = (e: number) => M.left + ((e - xr.lo) / (xr.hi - xr.lo)) * plotW;
  const sy = (v: number, r: { lo: number; hi: number }) => M.top + plotH - ((v - r.lo) / (r.hi - r.lo)) * plotH;
  const f = (v: number) => v.toFixed(1);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(opts.title ?? 'Training loss and validation accuracy')}</text>`,
  );

  // Grid and ticks: the loss axis's ticks draw the horizontal grid lines.
  out.push('<g id="axes" stroke="#000" stroke-width="1">');
  out.push(`<rect x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#888"/>`);
  for (const t of ticks(xr)) {
    out.push(`<line x1="${f(sx(t))}" y1="${M.top + plotH}" x2="${f(sx(t))}" y2="${M.top + plotH + 5}"/>`);
    out.push(`<text x="${f(sx(t))}" y="${M.top + plotH + 19}" text-anchor="middle" stroke="none">${fmt(t)}</text>`);
  }
  for (const t of ticks(lr)) {
    out.push(`<line x1="${M.left}" y1="${f(sy(t, lr))}" x2="${M.left + plotW}" y2="${f(sy(t, lr))}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${M.left - 8}" y="${f(sy(t, lr) + 4)}" text-anchor="end" stroke="none">${fmt(t)}</text>`);
  }
  for (const t of ticks(ax)) {
    out.push(`<line x1="${M.left + plotW}" y1="${f(sy(t, ax))}" x2="${M.left + plotW + 5}" y2="${f(sy(t, ax))}"/>`);
    out.push(`<text x="${M.left + plotW + 8}" y="${f(sy(t, ax) + 4)}" stroke="none">${fmt(100 * t)}%</text>`);
  }
  out.push('</g>');
  out.push(
    `<text x="${M.left + plotW / 2}" y="${H - 12}" text-anchor="middle">epoch</text>`,
    `<text transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">loss (mean cross-entropy)</text>`,
    `<text transform="translate(${W - 14} ${M.top + plotH / 2}) rotate(90)" text-anchor="middle" fill="${COLORS.acc}">validation accuracy</text>`,
  );

  // Each series: a polyline through its finite points (a gap where a value is NaN), and a dot per point.
  for (const s of SERIES) {
    const r = s.axis === 'loss' ? lr : ax;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<g id="${s.id}" fill="none" stroke="${s.color}" stroke-width="2"${dash}>`);
    for (const run of runs(points, (p) => Number.isFinite(s.get(p)))) {
      if (run.length > 1) out.push(`<polyline points="${run.map((p) => `${f(sx(p.epoch))},${f(sy(s.get(p), r))}`).join(' ')}"/>`);
    }
    for (const p of points) {
      const v = s.get(p);
      if (!Number.isFinite(v)) continue;
      const shown = s.axis === 'acc' ? `${(100 * v).toFixed(2)}%` : v.toFixed(4);
      out.push(
        `<circle cx="${f(sx(p.epoch))}" cy="${f(sy(v, r))}" r="3" fill="${s.color}" stroke="none"><title>epoch ${p.epoch}: ${s.name} ${shown}</title></circle>`,
      );
    }
    out.push('</g>');
  }

  // Legend, above the plot so it never covers a line.
  out.push('<g id="legend">');
  SERIES.forEach((s, i) => {
    const x = M.left + i * 190;
    const y = M.top - 22;
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<line x1="${x}" y1="${y}" x2="${x + 28}" y2="${y}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${x + 34}" y="${y + 4}">${s.name}${s.axis === 'acc' ? ' (right axis)' : ''}</text>`);
  });
  out.push('</g>');
  if (points.length === 0) out.push(`<text x="${M.left + plotW / 2}" y="${M.top + plotH / 2}" text-anchor="middle" fill="#888">no epoch yet</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

interface Range {
  lo: number;
  hi: number;
  step: number;
}

/**
 * A range covering [lo, hi] with about `n` ticks on round numbers (1, 2 or 5 times a power of ten).
 * `integer`: the steps are whole (epochs), at least 1.
 */
export function niceRange(lo: number, hi: number, n: number, integer = false): Range {
  if (hi === lo) {
    const pad = integer ? 1 : Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  let step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  if (integer) step = Math.max(1, Math.round(step));
  return { lo: Math.floor(lo / step + 1e-9) * step, hi: Math.ceil(hi / step - 1e-9) * step, step };
}

/** The ticks of a niceRange: lo, lo + step, ..., hi. */
export function ticks(r: Range): number[] {
  const out: number[] = [];
  const n = Math.round((r.hi - r.lo) / r.step);
  for (let i = 0; i <= n; i++) {
    const t = r.lo + i * r.step;
    if (t >= r.lo - 1e-9 && t <= r.hi + 1e-9) out.push(Number(t.toPrecision(12)));
  }
  return out;
}

/** A tick label without float noise: 0.30000000000000004 -> 0.3. */
export function fmt(v: number): string {
  return String(Number(v.toPrecision(6)));
}

/** The stretches of consecutive points that `keep` accepts (a line is drawn through each). */
export function runs<T>(points: readonly T[], keep: (p: T) => boolean): T[][] {
  const out: T[][] = [[]];
  for (const p of points) {
    if (keep(p)) out[out.length - 1].push(p);
    else if (out[out.length - 1].length) out.push([]);
  }
  return out.filter((r) => r.length > 0);
}

/** Text safe inside an XML element or a double-quoted attribute. */
export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] ?? c);
}
