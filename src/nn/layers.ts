import type { LinearSpec } from '../model/layout.js';
import { linBackward, linForward } from './linear.js';
import { reluBackward, reluForward } from './relu.js';
import type { Floats } from './types.js';

/**
 * A layer as the lesson builds it: a forward pass and its hand-derived backward pass. Layers hold no
 * tensors of their own; they read their parameters from the model's flat block and write their
 * gradients into a block of the same layout, so that a gradient can land in any shared slot.
 */
export interface Layer {
  readonly nIn: number;
  readonly nOut: number;
  /** output: [rows, nOut] from input: [rows, nIn] */
  forward(params: Floats, input: Floats, output: Floats, rows: number): void;
  /**
   * From dOutput: [rows, nOut], writes dInput: [rows, nIn] (unless null) and this layer's parameter
   * gradients, summed over the rows, at their offsets in grad.
   */
  backward(params: Floats, input: Floats, output: Floats, dOutput: Floats, dInput: Floats | null, grad: Floats, rows: number): void;
}

/** `lin(x) = x @ W.T + b` */
export class Lin implements Layer {
  readonly nIn: number;
  readonly nOut: number;

  constructor(readonly spec: LinearSpec) {
    this.nIn = spec.nIn;
    this.nOut = spec.nOut;
  }

  forward(params: Floats, input: Floats, output: Floats, rows: number): void {
    const { weight: w, bias: b } = this.spec;
    linForward(input, params.subarray(w.offset, w.offset + w.length), params.subarray(b.offset, b.offset + b.length), output, rows, this.nIn, this.nOut);
  }

  backward(params: Floats, input: Floats, _output: Floats, dOutput: Floats, dInput: Floats | null, grad: Floats, rows: number): void {
    const { weight: w, bias: b } = this.spec;
    linBackward(
      input,
      params.subarray(w.offset, w.offset + w.length),
      dOutput,
      grad.subarray(w.offset, w.offset + w.length),
      grad.subarray(b.offset, b.offset + b.length),
      dInput,
      rows,
      this.nIn,
      this.nOut,
    );
  }
}

/** `relu(x) = max(x, 0)`: no parameters. */
export class Relu implements Layer {
  constructor(
    readonly nIn: number,
    readonly nOut = nIn,
  ) {}

  forward(_params: Floats, input: Floats, output: Floats, rows: number): void {
    reluForward(input, output, rows * this.nIn);
  }

  backward(_params: Floats, _input: Floats, output: Floats, dOutput: Floats, dInput: Floats | null, _grad: Floats, rows: number): void {
    if (dInput !== null) reluBackward(output, dOutput, dInput, rows * this.nIn);
  }
}
