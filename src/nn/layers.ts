import type { LinearSpec } from '../model/layout.js';
import { linBackward, linForward } from './linear.js';
import { reluBackward, reluForward } from './relu.js';
import type { Floats } from './types.js';

/**
 * A layer as the lesson builds it: a forward pass and its hand-derived backward pass. Layers hold no
 * tensors of their own; they read their parameters from the model's flat block. The backward pass
 * goes row by row to the layer's input; the parameters' gradient, a sum over the batch, is taken
 * apart from it (linWeightGrad), from each row's input and output gradient.
 */
export interface Layer {
  readonly nIn: number;
  readonly nOut: number;
  /** output: [rows, nOut] from input: [rows, nIn] */
  forward(pass: ForwardPass): void;
  /** dInput: [rows, nIn] from dOutput: [rows, nOut] (and the forward's output, for a mask) */
  backward(pass: BackwardPass): void;
}

/** What a layer's forward pass reads and writes. */
export interface ForwardPass {
  /** the model's flat parameter block [P]; a layer reads its own tensors from it */
  params: Floats;
  /** [rows, nIn] */
  input: Floats;
  /** [rows, nOut] */
  output: Floats;
  rows: number;
}

/** What a layer's backward pass reads and writes. */
export interface BackwardPass {
  params: Floats;
  /** the forward pass's output [rows, nOut] (ReLU's mask) */
  output: Floats;
  /** d loss / d output [rows, nOut] */
  dOutput: Floats;
  /** d loss / d input [rows, nIn], written */
  dInput: Floats;
  rows: number;
}

/** `lin(x) = x @ W.T + b` */
export class Lin implements Layer {
  readonly nIn: number;
  readonly nOut: number;

  constructor(readonly spec: LinearSpec) {
    this.nIn = spec.nIn;
    this.nOut = spec.nOut;
  }

  forward({ params, input, output, rows }: ForwardPass): void {
    const { weight: w, bias: b } = this.spec;
    linForward(input, params.subarray(w.offset, w.offset + w.length), params.subarray(b.offset, b.offset + b.length), output, rows, this.nIn, this.nOut);
  }

  backward({ params, dOutput, dInput, rows }: BackwardPass): void {
    const w = this.spec.weight;
    linBackward(dOutput, params.subarray(w.offset, w.offset + w.length), dInput, rows, this.nIn, this.nOut);
  }
}

/** `relu(x) = max(x, 0)`: no parameters. */
export class Relu implements Layer {
  constructor(
    readonly nIn: number,
    readonly nOut = nIn,
  ) {}

  forward({ input, output, rows }: ForwardPass): void {
    reluForward(input, output, rows * this.nIn);
  }

  backward({ output, dOutput, dInput, rows }: BackwardPass): void {
    reluBackward(output, dOutput, dInput, rows * this.nIn);
  }
}
