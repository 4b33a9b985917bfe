import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

// scripts/bench-scaling.mjs drives a side trainer in another thread through shared words; these
// check that the rounds run to the end and what the report holds, not how fast anything is.
const SCRIPT = '../scripts/bench-scaling.mjs';
const SHORT = ['--bs', '50', '--rounds', '3', '--burst', '500', '--warmup-seconds', '0', '--json'];

describe('bench:scaling', () => {
  it('reports every thread count, and for 2 threads the side-by-side ceiling and the share of it reached', async () => {
    const r = await runCli(SCRIPT, ['--threads', '1,2', ...SHORT]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    type Group = { from: number; to: number | null; rounds: number; speedup: number | null };
    const rows = JSON.parse(r.stdout) as { bs: number; threads: number; samplesPerSecond: number; speedup: number; ceiling?: number; ofCeiling?: number; byCeiling?: Group[] }[];
    expect(rows.map((row) => [row.bs, row.threads])).toEqual([
      [50, 1],
      [50, 2],
    ]);
    expect(rows[0].speedup).toBe(1);
    expect(rows[0].ceiling).toBeUndefined();
    for (const row of rows) expect(row.samplesPerSecond).toBeGreaterThan(0);
    const two = rows[1];
    expect(two.ceiling).toBeGreaterThan(0);
    expect(two.ofCeiling).toBeGreaterThan(0);
    // every round falls in exactly one ceiling group, and the groups tile the line from 0 up
    const groups = two.byCeiling!;
    expect(groups.reduce((n, g) => n + g.rounds, 0)).toBe(3);
    expect(groups[0].from).toBe(0);
    expect(groups.at(-1)!.to).toBeNull();
    for (let i = 1; i < groups.length; i++) expect(groups[i].from).toBe(groups[i - 1].to);
    for (const g of groups) expect(g.speedup === null).toBe(g.rounds === 0);
    expect(rows[0].byCeiling).toBeUndefined();
  }, 120_000);

  it('leaves the ceiling out with --no-ceiling, and refuses it without a 1-thread engine to compare with', async () => {
    const without = await runCli(SCRIPT, ['--threads', '1,2', '--no-ceiling', ...SHORT]);
    expect(without.code).toBe(0);
    expect(JSON.parse(without.stdout).some((row: { ceiling?: number }) => 'ceiling' in row)).toBe(false);
    const refused = await runCli(SCRIPT, ['--threads', '2', ...SHORT]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toEqual([expect.stringContaining('start --threads with 1')]);
  }, 120_000);

  it('--project projects each core count from measured costs, labelled a projection', async () => {
    const r = await runCli(SCRIPT, ['--project', '--bs', '50', '--threads', '2,4', '--steps', '5', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    type Row = { bs: number; threads: number; rowItems: number; slices: number; stepUs: number; samplesPerSecond: number; speedup: number };
    const out = JSON.parse(r.stdout) as { measured: { wordNs: number; perBatch: { bs: number; serialNs: number; remoteParams: number; remoteFactors: number }[] }; projection: Row[] };
    expect(out.measured.wordNs).toBeGreaterThan(0);
    expect(out.measured.perBatch.map((m) => m.bs)).toEqual([50]);
    for (const m of out.measured.perBatch) for (const v of [m.serialNs, m.remoteParams, m.remoteFactors]) expect(v).toBeGreaterThanOrEqual(0);
    expect(out.projection.map((p) => [p.bs, p.threads])).toEqual([
      [50, 2],
      [50, 4],
    ]);
    for (const p of out.projection) {
      expect(p.rowItems).toBeGreaterThanOrEqual(2 * p.threads);
      expect(p.stepUs).toBeGreaterThan(0);
      // more than one core's speed, and not much more than T cores' (the item times are medians of noisy timings)
      expect(p.speedup).toBeGreaterThan(1);
      expect(p.speedup).toBeLessThanOrEqual(1.1 * p.threads);
    }
    const text = await runCli(SCRIPT, ['--project', '--bs', '50', '--threads', '2', '--steps', '5']);
    expect(text.stdout).toMatch(/^A projection, not a measurement/);
  }, 120_000);
});
