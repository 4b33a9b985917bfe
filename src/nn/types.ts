/** Buffers the layers compute on: float32 when training, float64 in the gradient checks. */
export type Floats = Float32Array | Float64Array;
export type FloatsConstructor = Float32ArrayConstructor | Float64ArrayConstructor;

/** What a pass over some samples gives: the summed loss and the number classified correctly. */
export interface Stats {
  loss: number;
  correct: number;
}
