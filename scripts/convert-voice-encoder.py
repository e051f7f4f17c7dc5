#!/usr/bin/env python3
"""Converts Resemblyzer's speaker encoder (``resemblyzer/pretrained.pt`` inside the Apache-2.0
wheel ``Resemblyzer==0.1.4`` on PyPI) into the flat file the transcription crate loads
(``activities/transcription/src/voice_encoder.rs``).

Usage: convert-voice-encoder.py WHEEL OUT

``pretrained.pt`` is a PyTorch checkpoint in the legacy (pre-1.6) serialisation: a sequence of
pickles followed by the raw tensor storages. It is read here with the standard library only (no
torch, no numpy): the unpickler resolves nothing but ``collections.OrderedDict``,
``torch._utils._rebuild_tensor_v2`` and ``torch.FloatStorage`` (anything else in the pickle is
refused, so the checkpoint cannot run code), and the tensors are copied out of their storages by
offset, shape and stride.

Output format (little endian): the magic ``MRVOICE1``, a u32 tensor count, then per tensor a u32
name length, the UTF-8 name, a u32 rank, u32 dimensions and the f32 values in row-major order.
Only the model's own tensors are written (the 3-layer LSTM and the projection), in a fixed order.
"""
import collections
import pickle
import struct
import sys
import zipfile

MAGIC = 0x1950A86A20F9469CFC6C
MEMBER = "resemblyzer/pretrained.pt"
TENSORS = [
    f"lstm.{kind}_l{layer}" for layer in range(3) for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
] + ["linear.weight", "linear.bias"]


class Storage:
    def __init__(self, key, size):
        self.key, self.size = key, size


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)


def rebuild_tensor(storage, offset, size, stride, *_rest):
    return Tensor(storage, offset, size, stride)


class FloatStorage:
    pass


class Checkpoint(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return rebuild_tensor
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch", "FloatStorage"):
            return FloatStorage
        raise pickle.UnpicklingError(f"the checkpoint refers to {module}.{name}, which is not a plain tensor")

    def persistent_load(self, pid):
        kind, storage_type, key, _location, size = pid[:5]
        if kind != "storage" or storage_type is not FloatStorage:
            raise pickle.UnpicklingError(f"unexpected storage {pid!r}")
        return Storage(key, size)


def values(tensor, storages):
    data = storages[tensor.storage.key]
    count = 1
    for dim in tensor.size:
        count *= dim
    out = []
    # Row-major walk over the tensor's shape, reading each element through its stride.
    index = [0] * len(tensor.size)
    for _ in range(count):
        flat = tensor.offset + sum(i * s for i, s in zip(index, tensor.stride))
        out.append(data[4 * flat : 4 * flat + 4])
        for d in reversed(range(len(index))):
            index[d] += 1
            if index[d] < tensor.size[d]:
                break
            index[d] = 0
    return b"".join(out)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: convert-voice-encoder.py WHEEL OUT")
    wheel, out_path = sys.argv[1], sys.argv[2]
    with zipfile.ZipFile(wheel) as z, z.open(MEMBER) as f:
        if pickle.load(f) != MAGIC:
            sys.exit(f"{MEMBER} is not a legacy PyTorch checkpoint")
        if pickle.load(f) != 1001:
            sys.exit(f"{MEMBER}: unknown checkpoint protocol")
        info = pickle.load(f)
        if not info.get("little_endian") or info.get("type_sizes", {}).get("long") not in (4, 8):
            sys.exit(f"{MEMBER}: unexpected byte order {info!r}")
        checkpoint = Checkpoint(f).load()
        keys = pickle.load(f)
        storages = {}
        for key in keys:
            (count,) = struct.unpack("<q", f.read(8))
            storages[key] = f.read(4 * count)
            if len(storages[key]) != 4 * count:
                sys.exit(f"{MEMBER}: storage {key} is truncated")
    state = checkpoint["model_state"]
    with open(out_path, "wb") as out:
        out.write(b"MRVOICE1")
        out.write(struct.pack("<I", len(TENSORS)))
        for name in TENSORS:
            tensor = state[name]
            encoded = name.encode()
            out.write(struct.pack("<I", len(encoded)) + encoded)
            out.write(struct.pack("<I", len(tensor.size)))
            out.write(b"".join(struct.pack("<I", d) for d in tensor.size))
            out.write(values(tensor, storages))


if __name__ == "__main__":
    main()
