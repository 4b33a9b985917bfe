/**
 * All parameters live in one flat float32 block (as in llm.c), laid out tensor after tensor with the
 * names and shapes of PyTorch's `nn.Sequential(Linear, ReLU, Linear, ..., Linear).state_dict()`:
 * layer l's weight is `${2l}.weight` [nOut, nIn] and its bias `${2l}.bias` [nOut] (the ReLUs between
 * take the odd indices). A checkpoint is these tensors as they lie, so PyTorch loads it as it is.
 */
export interface TensorSpec {
  name: string;
  shape: number[];
  /** first element in the flat block */
  offset: number;
  length: number;
}

export interface LinearSpec {
  nIn: number;
  nOut: number;
  weight: TensorSpec; // [nOut, nIn]
  bias: TensorSpec; // [nOut]
}

export interface MlpLayout {
  /** layer widths, input first: [784, 50, 10] */
  sizes: number[];
  /** inputs a row has: sizes[0] */
  nIn: number;
  /** classes the model predicts: the last layer's width */
  nClasses: number;
  linears: LinearSpec[];
  tensors: TensorSpec[];
  /** total number of parameters */
  count: number;
}

export function mlpLayout(sizes: readonly number[]): MlpLayout {
  if (sizes.length < 2 || sizes.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new RangeError(`layer sizes must be two or more positive integers, got [${sizes.join(', ')}]`);
  }
  const linears: LinearSpec[] = [];
  const tensors: TensorSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[]): TensorSpec => {
    const length = shape.reduce((a, b) => a * b, 1);
    const t = { name, shape, offset, length };
    offset += length;
    tensors.push(t);
    return t;
  };
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l];
    const nOut = sizes[l + 1];
    const weight = add(`${2 * l}.weight`, [nOut, nIn]);
    const bias = add(`${2 * l}.bias`, [nOut]);
    linears.push({ nIn, nOut, weight, bias });
  }
  return { sizes: [...sizes], nIn: sizes[0], nClasses: sizes[sizes.length - 1], linears, tensors, count: offset };
}

/** [nIn, ...hidden, nOut] */
export function mlpSizes(nIn: number, hidden: readonly number[], nOut: number): number[] {
  return [nIn, ...hidden, nOut];
}
