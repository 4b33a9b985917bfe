"""Writes safetensors fixtures from the format's published layout, with numpy alone (run once; the
outputs are committed under test/fixtures/safetensors/):

    8 bytes   little-endian u64 N, the header's length
    N bytes   JSON: {"__metadata__": {...}, name: {"dtype": "F32", "shape": [...], "data_offsets": [b, e]}, ...}
              padded with spaces to a multiple of 8, as safetensors' own writer does
    rest      the tensors' raw little-endian bytes, row-major, at their offsets

`torch-784-50-10.safetensors` is what `safetensors.torch.save_file(model.state_dict(), path)` writes for
nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10)): the tensors sorted by name, as that
writer orders tensors of one dtype. The others are broken on purpose, one way each.
"""
import json
import os
import struct

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'safetensors')


def write(name, tensors, metadata=None, dtype_override=None):
    header = {}
    if metadata is not None:
        header['__metadata__'] = metadata
    blobs = []
    offset = 0
    for key in sorted(tensors):
        arr = np.ascontiguousarray(tensors[key])
        raw = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
        dtype = {np.float32: 'F32', np.float64: 'F64', np.int64: 'I64'}[arr.dtype.type]
        if dtype_override and key in dtype_override:
            dtype = dtype_override[key]
        header[key] = {'dtype': dtype, 'shape': list(arr.shape), 'data_offsets': [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * ((8 - len(text) % 8) % 8)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    model = {
        '0.weight': (rng.standard_normal((50, 784)) * np.sqrt(2 / 784)).astype(np.float32),
        '0.bias': (rng.standard_normal(50) * 0.01).astype(np.float32),
        '2.weight': (rng.standard_normal((10, 50)) * np.sqrt(1 / 50)).astype(np.float32),
        '2.bias': (rng.standard_normal(10) * 0.01).astype(np.float32),
    }
    write('torch-784-50-10.safetensors', model, {'format': 'pt'})
    # The first values of each tensor, for the test to check the bytes landed where they belong.
    with open(os.path.join(OUT, 'torch-784-50-10.expected.json'), 'w') as f:
        json.dump({k: [float(x) for x in v.reshape(-1)[:5]] + [float(v.reshape(-1)[-1])] for k, v in model.items()}, f, indent=1)
        f.write('\n')
    wrong_name = dict(model)
    wrong_name['0.weights'] = wrong_name.pop('0.weight')
    write('wrong-name.safetensors', wrong_name, {'format': 'pt'})
    wrong_shape = dict(model)
    wrong_shape['2.weight'] = model['2.weight'][:9]
    write('wrong-shape.safetensors', wrong_shape, {'format': 'pt'})
    wrong_dtype = dict(model)
    wrong_dtype['0.bias'] = model['0.bias'].astype(np.float64)
    write('wrong-dtype.safetensors', wrong_dtype, {'format': 'pt'})


if __name__ == '__main__':
    main()
