#!/usr/bin/env python3
"""Writes test/fixtures/optim-reference.json, PyTorch's own numbers for the AdamW optimizer and the
OneCycleLR schedule (run once; the output is committed, so the TypeScript tests need no Python).

    /usr/bin/python3 scripts/make-optim-fixtures.py

Needs python3, numpy and PyTorch. It was run with Debian's packages (`apt-get install -y
python3-torch`, PyTorch 1.13, run by Debian's /usr/bin/python3, which is where apt puts torch). The
file records the torch version it was made with. Everything is seeded (numpy's default_rng(SEED)),
runs on the CPU with one thread (torch.set_num_threads(1)), and rerunning writes the same file.

Every number is written with Python's repr(), the shortest decimal that reads back as the same
float64, so nothing is rounded: float32 values are written as the float64 they convert to exactly,
and JSON.parse gives back the very value (Math.fround of it is a no-op).

onecycle: torch.optim.lr_scheduler.OneCycleLR with fastai's settings: total_steps=1000,
  max_lr=0.01, pct_start=0.25, anneal_strategy='cos', div_factor=25, final_div_factor=1e5,
  three_phase=False, cycle_momentum=True, base_momentum=0.85, max_momentum=0.95. So the lr rises
  from max_lr/25 to max_lr over steps 0..249 and falls to max_lr/25/1e5 at step 999, while the
  momentum goes the other way (0.95 -> 0.85 -> 0.95).
  sgd:   torch.optim.SGD(lr=0.01, momentum=0.9) (OneCycleLR needs a momentum to cycle) on one dummy
         parameter; lr[k] and momentum[k] are the param group's values right before the k-th
         optimizer.step() (k = 0..999), scheduler.step() following each optimizer.step().
  adamw: the same with torch.optim.AdamW(lr=0.01); beta1[k] is group['betas'][0] (beta1 cycles,
         beta2 stays 0.999).

training: two runs of 100 optimizer steps from the same initial weights on the same data.
  sizes [20, 16, 5]: nn.Sequential(Linear(20, 16), ReLU(), Linear(16, 5)), whose tensors are
    0.weight [16, 20], 0.bias [16], 2.weight [5, 16], 2.bias [5] (weights [nOut, nIn], PyTorch's).
  init: float32, weights randn * sqrt(2 / nIn) (Kaiming), biases uniform in [-0.1, 0.1).
  x: n = 96 rows of 20, float32 k/256 (k in 1..255, exact in float32 and float64), each entry
    exactly 0 with probability 1/2 (so the zero-skipping code paths run); y: 96 labels in [0, 5).
  batches: data order, no shuffle, bs 32: step k uses rows [(k mod 3)*32, (k mod 3)*32 + 32).
  loss: F.cross_entropy(model(x), y) (reduction 'mean'); the step uses the gradient of that mean.
  adamw: torch.optim.AdamW(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01,
    foreach=False) with OneCycleLR(max_lr=0.01, total_steps=100, the settings above), so beta1
    cycles 0.95 -> 0.85 -> 0.95 (the betas passed are replaced by the scheduler before step 0).
  sgd: torch.optim.SGD(lr=0.1, momentum=0.9, weight_decay=5e-4, foreach=False) with
    OneCycleLR(max_lr=0.1, total_steps=100, the settings above); the momentum cycles.
  foreach=False: both use PyTorch's single-tensor implementation (_single_tensor_adamw,
    _single_tensor_sgd), which 1.13 also picks for foreach=None.
  Each run is done twice: in float64 (model.double(), x as float64 of the float32 values; init
  likewise) and in float32. Recorded per run: lr[k] and momentum[k] / beta1[k] used by step k
  (identical for both precisions), loss64[k] / loss32[k] the mean batch loss of step k (computed
  before step k's update), final64 / final32 the weights after the 100 steps, flat row-major.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'test', 'fixtures', 'optim-reference.json')

SEED = 20240601
NAMES = ('0.weight', '0.bias', '2.weight', '2.bias')

ONECYCLE = dict(pct_start=0.25, anneal_strategy='cos', div_factor=25.0, final_div_factor=1e5,
                three_phase=False, cycle_momentum=True, base_momentum=0.85, max_momentum=0.95)

SIZES = (20, 16, 5)
N, BS, STEPS = 96, 32, 100
ADAMW = dict(maxLr=0.01, betas=[0.9, 0.999], eps=1e-8, weightDecay=0.01)
SGD = dict(maxLr=0.1, weightDecay=5e-4)


def floats(a):
    """A flat list of Python floats (float64; float32 values convert exactly)."""
    return [float(v) for v in np.asarray(a).reshape(-1)]


def onecycle_schedule(kind, total, max_lr):
    """lr and momentum (SGD) or beta1 (AdamW) that each of `total` optimizer steps uses."""
    p = nn.Parameter(torch.zeros(3, dtype=torch.float64))
    if kind == 'sgd':
        opt = torch.optim.SGD([p], lr=max_lr, momentum=0.9, foreach=False)
    else:
        opt = torch.optim.AdamW([p], lr=max_lr, foreach=False)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=total, **ONECYCLE)
    lrs, moms = [], []
    for _ in range(total):
        g = opt.param_groups[0]
        lrs.append(float(g['lr']))
        moms.append(float(g['momentum'] if kind == 'sgd' else g['betas'][0]))
        p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
    return lrs, moms


def make_data(rng):
    nin, nh, nout = SIZES
    k = rng.integers(1, 256, size=(N, nin))
    keep = rng.random((N, nin)) < 0.5
    x = np.where(keep, k / 256.0, 0.0).astype(np.float32)
    y = rng.integers(0, nout, size=N).astype(np.int64)
    init = {
        '0.weight': (rng.standard_normal((nh, nin)) * math.sqrt(2.0 / nin)).astype(np.float32),
        '0.bias': rng.uniform(-0.1, 0.1, size=nh).astype(np.float32),
        '2.weight': (rng.standard_normal((nout, nh)) * math.sqrt(2.0 / nh)).astype(np.float32),
        '2.bias': rng.uniform(-0.1, 0.1, size=nout).astype(np.float32),
    }
    return x, y, init


def train(kind, x, y, init, dtype):
    """One 100-step run; returns (lr, momentum or beta1, losses, final weights as numpy)."""
    nin, nh, nout = SIZES
    model = nn.Sequential(nn.Linear(nin, nh), nn.ReLU(), nn.Linear(nh, nout)).to(dtype)
    state = {name: torch.from_numpy(init[name]).to(dtype) for name in NAMES}
    model.load_state_dict(state)
    assert [n for n, _ in model.named_parameters()] == list(NAMES)
    xt = torch.from_numpy(x).to(dtype)
    yt = torch.from_numpy(y)
    if kind == 'adamw':
        opt = torch.optim.AdamW(model.parameters(), lr=ADAMW['maxLr'], betas=tuple(ADAMW['betas']),
                                eps=ADAMW['eps'], weight_decay=ADAMW['weightDecay'], foreach=False)
        max_lr = ADAMW['maxLr']
    else:
        opt = torch.optim.SGD(model.parameters(), lr=SGD['maxLr'], momentum=0.9,
                              weight_decay=SGD['weightDecay'], foreach=False)
        max_lr = SGD['maxLr']
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=max_lr, total_steps=STEPS, **ONECYCLE)
    lrs, moms, losses = [], [], []
    for k in range(STEPS):
        lo = (k % (N // BS)) * BS
        g = opt.param_groups[0]
        lrs.append(float(g['lr']))
        moms.append(float(g['momentum'] if kind == 'sgd' else g['betas'][0]))
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xt[lo:lo + BS]), yt[lo:lo + BS])
        assert loss.dtype == dtype
        loss.backward()
        losses.append(float(loss.item()))
        opt.step()
        sched.step()
    final = {name: p.detach().numpy().copy() for name, p in model.named_parameters()}
    return lrs, moms, losses, final


def main():
    torch.set_num_threads(1)
    torch.manual_seed(SEED)  # nothing below draws from torch's generator; seeded all the same
    rng = np.random.default_rng(SEED)
    x, y, init = make_data(rng)

    sgd_lr, sgd_mom = onecycle_schedule('sgd', 1000, 0.01)
    adamw_lr, adamw_beta1 = onecycle_schedule('adamw', 1000, 0.01)
    assert sgd_lr == adamw_lr and sgd_mom == adamw_beta1

    training = {
        'sizes': list(SIZES), 'n': N, 'bs': BS, 'steps': STEPS,
        'x': floats(x), 'y': [int(v) for v in y],
        'init': {name: floats(init[name]) for name in NAMES},
    }
    for kind, settings, mom_key in (('adamw', ADAMW, 'beta1'), ('sgd', SGD, 'momentum')):
        lr64, mom64, loss64, final64 = train(kind, x, y, init, torch.float64)
        lr32, mom32, loss32, final32 = train(kind, x, y, init, torch.float32)
        assert lr64 == lr32 and mom64 == mom32
        assert all(final32[n].dtype == np.float32 for n in NAMES)
        training[kind] = dict(settings)
        training[kind].update({
            'lr': lr64, mom_key: mom64, 'loss64': loss64, 'loss32': loss32,
            'final64': {n: floats(final64[n]) for n in NAMES},
            'final32': {n: floats(final32[n]) for n in NAMES},
        })
        d32 = max(float(np.max(np.abs(final32[n].astype(np.float64) - final64[n]))) for n in NAMES)
        moved = max(float(np.max(np.abs(final64[n] - init[n].astype(np.float64)))) for n in NAMES)
        dloss = max(abs(a - b) for a, b in zip(loss32, loss64))
        print(f'{kind}: loss {loss64[0]:.6f} -> {loss64[-1]:.6f}; max |final32 - final64| {d32:.3e}; '
              f'max |final64 - init| {moved:.3e}; max |loss32 - loss64| {dloss:.3e}')

    doc = {
        'torch': torch.__version__,
        'onecycle': {
            'totalSteps': 1000, 'maxLr': 0.01, 'pctStart': ONECYCLE['pct_start'],
            'divFactor': ONECYCLE['div_factor'], 'finalDivFactor': ONECYCLE['final_div_factor'],
            'baseMomentum': ONECYCLE['base_momentum'], 'maxMomentum': ONECYCLE['max_momentum'],
            'sgd': {'lr': sgd_lr, 'momentum': sgd_mom},
            'adamw': {'lr': adamw_lr, 'beta1': adamw_beta1},
        },
        'training': training,
    }
    # json writes floats with float.__repr__ (shortest round-trip); allow_nan=False: all finite
    text = json.dumps(doc, separators=(',', ':'), allow_nan=False) + '\n'
    assert json.loads(text) == doc
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        f.write(text)
    print(f'wrote {OUT}: {len(text)} bytes')


if __name__ == '__main__':
    main()
