import { describe, expect, it } from 'vitest';
import { logsumexp, softmaxCrossEntropy } from '../src/nn/cross-entropy.js';

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
  it('gives softmax minus onehot as the loss gradient', () => {
    const logits = new Float64Array([1, 2, 3]);
    const d = new Float64Array(3);
    const { loss } = softmaxCrossEntropy(logits, new Int32Array([0]), d, 1, 3);
    const z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    expect(loss).toBeCloseTo(-Math.log(Math.exp(1) / z), 14);
    expect(d[0]).toBeCloseTo(Math.exp(1) / z - 1, 14);
    expect(d[1]).toBeCloseTo(Math.exp(2) / z, 14);
    expect(d[2]).toBeCloseTo(Math.exp(3) / z, 14);
    expect(d[0] + d[1] + d[2]).toBeCloseTo(0, 14);
  });
  it('is exact and finite for extreme logits', () => {
    const logits = new Float32Array([1000, -1000, -1000, 1000]);
    const d = new Float32Array(4);
    const r = softmaxCrossEntropy(logits, new Int32Array([1, 1]), d, 2, 2);
    expect(r.loss).toBe(2000); // row 0: -(-1000 - 1000); row 1: 0
    expect(r.correct).toBe(1);
    expect(Array.from(d)).toEqual([1, -1, 0, 0]);
  });
  it('counts a row correct when its largest logit is the label', () => {
    const logits = new Float64Array([0, 5, 1, /**/ 3, 1, 2, /**/ 0, 0, 9]);
    expect(softmaxCrossEntropy(logits, new Int32Array([1, 1, 2]), null, 3, 3).correct).toBe(2);
  });
});
