#!/usr/bin/python3
"""Exports the bench's inference models to ONNX for ONNX Runtime Web (bench/pages/ort.ts).

Run with Debian's torch 1.13:  /usr/bin/python3 bench/onnx/gen_onnx.py
Writes, next to this file, NAME.onnx and NAME.json for NAME in mlp, cnn, encoder.

The weights are not in the .onnx files. The bench generates every system's weights in
TypeScript (bench/pages/common.ts: mlpParams, cnnParams, encoderParams); so that ORT runs
exactly those, each parameter here is an initializer stored as ONNX *external data*: the graph
keeps its name, shape and an (offset, length) into a weights file that the page builds in memory
from the TypeScript arrays and hands to ORT (`externalData` session option). NAME.json lists the
initializers (state-dict key, shape, offset, length), so the page knows what to put where.
The graphs are therefore a few KB each and are committed; the bench itself never needs Python.

torch 1.13 writes its initializers inline (raw_data) and Debian has no `onnx` package, so the
move to external data is done by the small protobuf rewriter below, on the exported bytes.
Exported with do_constant_folding=False and training=PRESERVE on modules in eval mode, so every
initializer is a parameter under its state-dict name (EVAL would fold BatchNorm into the conv
weights under new names).
"""

import json
import os

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 17  # LayerNormalization is an ONNX op from 17 on; ORT Web's WebGPU EP has kernels for all ops used here


# ------------------------------------------------------------------ the models (eval mode)
def mlp():
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10),
    )


def encoder():
    # d_model 256, 4 heads, ff 1024, post-norm (norm_first False), relu; input [batch 8, seq 128, 256]
    return nn.TransformerEncoderLayer(256, 4, dim_feedforward=1024, dropout=0.1, activation="relu", batch_first=True)


MODELS = {
    # name: (module, example input, dynamic batch)
    "mlp": (mlp, torch.zeros(1, 784), True),
    "cnn": (cnn, torch.zeros(1, 1, 28, 28), True),
    "encoder": (encoder, torch.zeros(8, 128, 256), False),
}


# ------------------------------------------------------------------ protobuf, just enough to move initializers out
def varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(b):
    """[(field number, wire type, payload bytes or int)] of one message."""
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(b, i)
        elif wt == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.append((num, wt, v))
    return out


def serialize(fs):
    out = bytearray()
    for num, wt, v in fs:
        out += enc_varint(num << 3 | wt)
        if wt == 0:
            out += enc_varint(v)
        elif wt == 2:
            out += enc_varint(len(v)) + v
        else:
            out += v
    return bytes(out)


def string_entry(k, v):  # StringStringEntryProto {key = 1, value = 2}
    return serialize([(1, 2, k.encode()), (2, 2, v.encode())])


# TensorProto: dims 1, data_type 2, name 8, raw_data 9, external_data 13, data_location 14 (EXTERNAL = 1)
# GraphProto: initializer 5; ModelProto: graph 7.
def externalize(model_bytes, keys, location):
    """Moves the initializers named in `keys` to external data at consecutive offsets in `location`."""
    manifest, offset = [], 0
    model = fields(model_bytes)
    for mi, (num, wt, graph) in enumerate(model):
        if num != 7:
            continue
        g = fields(graph)
        for gi, (gnum, gwt, tensor) in enumerate(g):
            if gnum != 5:
                continue
            t = fields(tensor)
            name = next(v for n, _, v in t if n == 8).decode()
            if name not in keys:
                continue  # a small constant of the graph, kept inline
            assert next(v for n, _, v in t if n == 2) == 1, f"{name}: not float32"
            raw = next(v for n, _, v in t if n == 9)
            dims = [v for n, w, v in t if n == 1 and w == 0]
            t = [f for f in t if f[0] != 9]
            t += [(13, 2, string_entry("location", location)), (13, 2, string_entry("offset", str(offset))),
                  (13, 2, string_entry("length", str(len(raw)))), (14, 0, 1)]
            g[gi] = (gnum, gwt, serialize(t))
            manifest.append({"name": name, "shape": dims, "offset": offset, "length": len(raw)})
            offset += len(raw)
        model[mi] = (num, wt, serialize(g))
    missing = set(keys) - {m["name"] for m in manifest}
    assert not missing, f"parameters not found as initializers (renamed by the exporter?): {sorted(missing)}"
    return serialize(model), manifest


def main():
    torch.manual_seed(0)
    for name, (make, example, dynamic) in MODELS.items():
        m = make().eval()
        # The exported values are dropped, but must all differ: the exporter merges initializers
        # with equal values (BatchNorm's weight and running_var, both ones) behind Identity nodes.
        with torch.no_grad():
            for t in list(m.parameters()) + [b for b in m.buffers() if b.is_floating_point()]:
                t.copy_(torch.rand_like(t) + 0.5)
        path = os.path.join(HERE, f"{name}.onnx")
        torch.onnx.export(
            m, (example,), path, input_names=["x"], output_names=["y"], opset_version=OPSET,
            do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE,
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}} if dynamic else None,
        )
        keys = [k for k, _ in m.named_parameters()] + [k for k, _ in m.named_buffers() if not k.endswith("num_batches_tracked")]
        with open(path, "rb") as f:
            data, manifest = externalize(f.read(), set(keys), f"{name}.weights")
        with open(path, "wb") as f:
            f.write(data)
        with open(os.path.join(HERE, f"{name}.json"), "w") as f:
            json.dump({"model": f"{name}.onnx", "location": f"{name}.weights", "input": list(example.shape),
                       "dynamicBatch": dynamic, "opset": OPSET, "initializers": manifest}, f, indent=1)
            f.write("\n")
        print(f"{name}.onnx: {len(data)} bytes, {len(manifest)} external initializers, "
              f"{sum(i['length'] for i in manifest)} bytes of weights from the page")


if __name__ == "__main__":
    main()
