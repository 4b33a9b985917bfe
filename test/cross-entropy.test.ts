import { describe, expect, it } from 'vitest';
import { correctRows, crossEntropyBackward, crossEntropyForward, logsumexp } from '../src/nn/cross-entropy.js';

describe('logsumexp', () => {
  it('is log(sum(exp)) for ordinary values', () => {
    const v = new Float64Array([0.5, -1, 2]);
    expect(logsumexp(v, 0, 3)).toBeCloseTo(Math.log(Math.exp(0.5) + Math.exp(-1) + Math.exp(2)), 14);
  });
  it('stays finite for logits like 1000 and -1000', () => {
    const v = new Float32Array([1000, -1000]);
    expect(logsumexp(v, 0, 2)).toBe(1000);
    expect(logsumexp(new Float64Array([1000, 1000]), 0, 2)).toBeCloseTo(1000 + Math.LN2, 10);
    expect(logsumexp(new Float64Array([-1000, -1000]), 0, 2)).toBeCloseTo(-1000 + Math.LN2, 10);
  });
});

describe('softmax cross-entropy', () => {
  it('gives each row its loss, and softmax minus onehot as the loss gradient', () => {
    const logits = new Float64Array([1, 2, 3]);
    const losses = new Float64Array(1);
    const d = new Float64Array(3);
    crossEntropyForward(logits, new Int32Array([0]), losses, 1, 3);
    crossEntropyBackward(logits, new Int32Array([0]), d, 1, 3);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(losses[0]).toBeCloseTo(-Math.log(Math.exp(1) / z), 14);
    expect(d[0]).toBeCloseTo(Math.exp(1) / z - 1, 14);
    expect(d[1]).toBeCloseTo(Math.exp(2) / z, 14);
    expect(d[2]).toBeCloseTo(Math.exp(3) / z, 14);
    expect(d[0] + d[1] + d[2]).toBeCloseTo(0, 14);
  });
  it('is exact and finite for extreme logits', () => {
    const logits = new Float32Array([1000, -1000, -1000, 1000]);
    const labels = new Int32Array([1, 1]);
    const losses = new Float64Array(2);
    const d = new Float32Array(4);
    const correct = new Int32Array(2);
    crossEntropyForward(logits, labels, losses, 2, 2);
    crossEntropyBackward(logits, labels, d, 2, 2);
    correctRows(logits, labels, correct, 2, 2);
    expect(Array.from(losses)).toEqual([2000, 0]); // row 0: -(-1000 - 1000); row 1: 0
    expect(Array.from(correct)).toEqual([0, 1]);
    expect(Array.from(d)).toEqual([1, -1, 0, 0]);
  });
  it('counts a row correct when its largest logit is the label, the lower class on a tie', () => {
    const logits = new Float64Array([0, 5, 1, /**/ 3, 1, 2, /**/ 0, 0, 9, /**/ 4, 4, 0]);
    const correct = new Int32Array(4);
    correctRows(logits, new Int32Array([1, 1, 2, 1]), correct, 4, 3);
    expect(Array.from(correct)).toEqual([1, 0, 1, 0]);
  });
});
