// An SVG line chart of samples/s against threads, one series per batch size, each with its ideal
// dashed, and numpy's single-core figure as a dotted level.

const W = 640;
const H = 400;
const M = { left: 80, right: 150, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');

/**
 * series: [{label, points: [[threads, samplesPerSecond]], numpy?: number}]; the ideal is linear from
 * the first point up to `cores` threads and flat after (more threads than cores add no compute).
 */
export function chartSvg(title, series, cores) {
  const threads = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const ideal = (s) => s.points.map(([t]) => [t, s.points[0][1] * (Math.min(t, cores) / s.points[0][0])]);
  const ymax = niceMax(Math.max(...series.flatMap((s) => [...s.points.map((p) => p[1]), s.numpy ?? 0, ...ideal(s).map((p) => p[1])])));
  const xmin = Math.min(...threads);
  const xmax = Math.max(...threads);
  const x = (t) => M.left + ((Math.log2(t) - Math.log2(xmin)) / (Math.log2(xmax) - Math.log2(xmin) || 1)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (v / ymax) * (H - M.top - M.bottom);
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (let i = 0; i <= 5; i++) {
    const v = (ymax * i) / 5;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en-US')}</text>`);
  }
  for (const t of threads) {
    out.push(`<text x="${x(t)}" y="${H - M.bottom + 18}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<text x="${(M.left + W - M.right) / 2}" y="${H - 10}" text-anchor="middle">threads</text>`);
  out.push(`<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">samples/s</text>`);
  const path = (pts) => pts.map(([t, v], i) => `${i ? 'L' : 'M'}${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    out.push(`<path d="${path(ideal(s))}" fill="none" stroke="${c}" stroke-dasharray="5 4" stroke-opacity="0.6"/>`);
    out.push(`<path d="${path(s.points)}" fill="none" stroke="${c}" stroke-width="2"/>`);
    for (const [t, v] of s.points) out.push(`<circle cx="${x(t)}" cy="${y(v)}" r="3" fill="${c}"/>`);
    if (s.numpy) out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y(s.numpy)}" y2="${y(s.numpy)}" stroke="${c}" stroke-dasharray="1 3"/>`);
    const ly = M.top + 10 + i * 54;
    out.push(`<line x1="${W - M.right + 10}" x2="${W - M.right + 30}" y1="${ly}" y2="${ly}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 34}" y="${ly + 4}">${esc(s.label)}</text>`);
    out.push(`<line x1="${W - M.right + 10}" x2="${W - M.right + 30}" y1="${ly + 16}" y2="${ly + 16}" stroke="${c}" stroke-dasharray="5 4"/>`);
    out.push(`<text x="${W - M.right + 34}" y="${ly + 20}">ideal</text>`);
    if (s.numpy) {
      out.push(`<line x1="${W - M.right + 10}" x2="${W - M.right + 30}" y1="${ly + 32}" y2="${ly + 32}" stroke="${c}" stroke-dasharray="1 3"/>`);
      out.push(`<text x="${W - M.right + 34}" y="${ly + 36}">numpy, 1 core</text>`);
    }
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function niceMax(v) {
  const p = 10 ** Math.floor(Math.log10(v || 1));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v) ?? 10 * p;
}
