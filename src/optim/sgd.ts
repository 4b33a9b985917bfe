/** SGD's hyperparameters, with PyTorch's `optim.SGD` meaning (dampening 0, no Nesterov). */
export interface SgdOptions {
  lr: number;
  /** 0: plain SGD */
  momentum: number;
  /** L2 penalty added to the gradient: g += wd * p */
  weightDecay: number;
}

/**
 * Minibatch SGD fused with the batch-mean step. The gradient of a batch is the chunk gradients summed
 * in chunk order, divided by the batch size; then, as PyTorch's optim.SGD does:
 *   g = g + wd * p                  (weight decay, when wd != 0)
 *   buf = momentum * buf + g        (when momentum != 0; buf starts at 0, so the first step's buf = g)
 *   p = p - lr * buf                (or p - lr * g without momentum)
 * It works on a slice of the parameters so that threads can share the update; each parameter's
 * result is the same whoever computes it.
 */
export function sgdUpdateSlice(
  o: SgdOptions,
  params: Float32Array, // [P]
  slots: Float32Array, // [>= nChunks, P]
  nChunks: number,
  batchSize: number,
  buf: Float32Array | null, // [P], needed when momentum != 0
  lo: number,
  hi: number,
): void {
  const P = params.length;
  const { lr, momentum, weightDecay } = o;
  if (momentum !== 0 && buf === null) throw new Error('SGD with momentum needs a momentum buffer');
  for (let p = lo; p < hi; p++) {
    let g = slots[p];
    for (let c = 1; c < nChunks; c++) g += slots[c * P + p];
    g /= batchSize;
    if (weightDecay !== 0) g += weightDecay * params[p];
    if (momentum !== 0) {
      buf![p] = momentum * buf![p] + g;
      g = buf![p];
    }
    params[p] -= lr * g;
  }
}
