// The table of DP-SGD's costs (scripts/bench-dp.mjs), as bench-dp and bench print it.

/** Markdown lines: header, rule, and a row per {bs, threads, samplesPerSecond, clipOverSgd, noiseOverSgd}. */
export function dpTableLines(rows) {
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  return [
    '| bs | threads | SGD (samples/s) | --clip (samples/s) | --clip --noise (samples/s) | --clip / SGD time | --clip --noise / SGD time |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map((r) => {
      const s = r.samplesPerSecond;
      return `| ${r.bs} | ${r.threads} | ${fmt(s.sgd)} | ${fmt(s.clip)} | ${fmt(s['clip+noise'])} | ${r.clipOverSgd.toFixed(3)} | ${r.noiseOverSgd.toFixed(3)} |`;
    }),
  ];
}
