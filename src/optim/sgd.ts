/**
 * Plain minibatch SGD, `p -= lr * g`, fused with the batch-mean step: the gradient of a batch is the
 * chunk gradients summed in chunk order, divided by the batch size. Working on a slice of the
 * parameters lets threads share the update; each parameter's result is the same whoever computes it.
 */
export class SGD {
  constructor(public lr: number) {}

  /**
   * For p in [lo, hi): g = (slots[0][p] + slots[1][p] + ... + slots[nChunks-1][p]) / batchSize;
   * params[p] -= lr * g.
   *   params: [P], slots: [>= nChunks, P]
   */
  updateSlice(params: Float32Array, slots: Float32Array, nChunks: number, batchSize: number, lo: number, hi: number): void {
    const P = params.length;
    const lr = this.lr;
    for (let p = lo; p < hi; p++) {
      let g = slots[p];
      for (let c = 1; c < nChunks; c++) g += slots[c * P + p];
      params[p] -= lr * (g / batchSize);
    }
  }
}
