import { describe, expect, it } from 'vitest';
import { sgdStep, sgdUpdate } from '../src/optim/sgd.js';

// sgdStep is the lesson's `p -= lr * g`; sgdUpdate the same with PyTorch's
// optim.SGD momentum and weight decay, given their batch-mean gradient.
const f = Math.fround;

describe("SGD with PyTorch's optim.SGD semantics", () => {
  it("the lesson's step: p -= lr * g", () => {
    const p = new Float32Array([1, -2, 0.5]);
    sgdStep(p, new Float64Array([0.4, 0.1, -1]), 0.5);
    expect(Array.from(p)).toEqual([f(1 - 0.5 * 0.4), f(-2 - 0.5 * 0.1), f(0.5 + 0.5)]);
  });

  it('plain SGD: p -= lr * g', () => {
    const params = new Float32Array([1, -2]);
    sgdUpdate(params, new Float64Array([0.4, 0.1]), null, { lr: 0.5, momentum: 0, weightDecay: 0 });
    expect(Array.from(params)).toEqual([f(1 - 0.5 * 0.4), f(-2 - 0.5 * 0.1)]);
  });

  it('momentum and weight decay: buf = m * buf + (g + wd * p), p -= lr * buf, over two steps', () => {
    const lr = 0.1;
    const m = 0.9;
    const wd = 0.01;
    const params = new Float32Array([1, -2]);
    const buf = new Float32Array(2);
    const opt = { lr, momentum: m, weightDecay: wd };
    // Step 1: gradients [0.5, -1].
    sgdUpdate(params, new Float64Array([0.5, -1]), buf, opt);
    const g1 = [0.5 + wd * 1, -1 + wd * -2]; // [0.51, -1.02]; the first buf is g itself
    const p1 = [f(1 - lr * f(g1[0])), f(-2 - lr * f(g1[1]))];
    expect(Array.from(buf)).toEqual(g1.map(f));
    expect(Array.from(params)).toEqual(p1);
    // Step 2: gradients [0.25, 0.5].
    sgdUpdate(params, new Float64Array([0.25, 0.5]), buf, opt);
    const b2 = [f(m * f(g1[0]) + (0.25 + wd * p1[0])), f(m * f(g1[1]) + (0.5 + wd * p1[1]))];
    expect(Array.from(buf)).toEqual(b2);
    expect(Array.from(params)).toEqual([f(p1[0] - lr * b2[0]), f(p1[1] - lr * b2[1])]);
    // By hand, to 6 places: buf2 = [0.9 * 0.51 + 0.25 + 0.01 * 0.949, 0.9 * -1.02 + 0.5 + 0.01 * -1.898]
    expect(buf[0]).toBeCloseTo(0.9 * 0.51 + 0.25 + 0.00949, 6);
    expect(buf[1]).toBeCloseTo(0.9 * -1.02 + 0.5 - 0.01898, 6);
  });

  it('updates only the view it is given, and refuses momentum without a buffer', () => {
    const params = new Float32Array([1, 1, 1, 1]);
    sgdUpdate(params.subarray(1, 3), new Float64Array([1, 1]), null, { lr: 1, momentum: 0, weightDecay: 0 });
    expect(Array.from(params)).toEqual([1, 0, 0, 1]);
    expect(() => sgdUpdate(params.subarray(0, 1), new Float64Array(1), null, { lr: 1, momentum: 0.9, weightDecay: 0 })).toThrow(/momentum buffer/);
  });
});
