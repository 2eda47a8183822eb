#!/usr/bin/python3
"""PyTorch <-> Kiln interop through safetensors files (test/golden/interop/).

    /usr/bin/python3 test/golden/gen_interop.py           # write the PyTorch-side files
    /usr/bin/python3 test/golden/gen_interop.py --check   # check Kiln's file in PyTorch

Debian's torch 1.13 has no `safetensors` package, so the format is read and written by hand
here (8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}},
optional "__metadata__" string map, raw little-endian data), independently of Kiln's reader.

Generate mode writes (deterministic: fixed seed, one thread):
  pytorch_model.safetensors  state_dict of Sequential(Linear(8,16), ReLU, Linear(16,4)),
                             keys exactly as PyTorch names them (0.weight, 0.bias, ...)
  pytorch_io.safetensors     x [5,8] and y = model(x) [5,4], float32
  dtypes.safetensors         one tensor per dtype Kiln reads (F32 F16 I32 I64 BOOL U8),
                             written from torch tensors' own bytes; values in dtypes.json
  dtypes.json                the expected values, as plain numbers

Check mode reads kiln_model.safetensors (a Kiln checkpoint written by
test/checkpoint.test.ts) and kiln_output.json, verifies the CRC-32 stored in the
metadata, loads the `model.*` tensors into the same torch module with strict=True, loads the
`optimizer.*` state into torch.optim.Adam, runs the input and asserts the outputs match
Kiln's, then takes one more Adam step on Kiln's training batch and asserts the loss and the
parameters match Kiln's next step (kiln_output.json nextStep); the result is printed and
written to pytorch_check.txt.
"""
import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent / "interop"
DT = {torch.float32: "F32", torch.float16: "F16", torch.int32: "I32", torch.int64: "I64",
      torch.bool: "BOOL", torch.uint8: "U8"}
NP = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64, "BOOL": np.bool_, "U8": np.uint8}


def model():
    return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous()
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert 8 + n <= len(raw), f"{path}: header length {n} runs past the end of the file"
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        arr = np.frombuffer(data[b:e], dtype=np.dtype(NP[info["dtype"]]).newbyteorder("<")).reshape(info["shape"])
        tensors[name] = torch.from_numpy(arr.astype(NP[info["dtype"]]).copy())
    return tensors, meta, raw[8:8 + n], data


def generate():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    HERE.mkdir(parents=True, exist_ok=True)
    m = model()
    x = torch.randn(5, 8)
    with torch.no_grad():
        y = m(x)
    write_safetensors(HERE / "pytorch_model.safetensors", m.state_dict(), {"format": "pt", "torch": torch.__version__})
    write_safetensors(HERE / "pytorch_io.safetensors", {"x": x, "y": y})
    f16 = torch.tensor([0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08, 0.1], dtype=torch.float16)
    dts = {
        "f32": torch.tensor([[1.5, -0.25, 3.0e-8], [float("inf"), -0.0, 1e30]], dtype=torch.float32),
        "f16": f16,
        "i32": torch.tensor([-2147483648, -1, 0, 7, 2147483647], dtype=torch.int32),
        "i64": torch.tensor([[-2147483648, 5], [123456789, 2147483647]], dtype=torch.int64),
        "bool": torch.tensor([True, False, True, True]),
        "u8": torch.tensor([0, 1, 128, 255], dtype=torch.uint8),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(4.25),
    }
    write_safetensors(HERE / "dtypes.safetensors", dts, {"note": "one tensor per dtype"})
    expect = {k: {"dtype": DT[t.dtype], "shape": list(t.shape),
                  "data": [None if not np.isfinite(v) else v for v in t.float().flatten().tolist()] if t.is_floating_point() else [int(v) for v in t.flatten().tolist()],
                  "inf": [i for i, v in enumerate(t.float().flatten().tolist()) if np.isinf(v)] if t.is_floating_point() else []}
              for k, t in dts.items()}
    (HERE / "dtypes.json").write_text(json.dumps({"torchVersion": torch.__version__, "tensors": expect}, indent=1) + "\n")
    print(f"wrote {HERE}/pytorch_model.safetensors, pytorch_io.safetensors, dtypes.safetensors, dtypes.json")


def check():
    tensors, meta, header_bytes, data = read_safetensors(HERE / "kiln_model.safetensors")
    lines = [f"torch {torch.__version__}; file kiln_model.safetensors ({8 + len(header_bytes) + len(data)} bytes)"]
    assert meta.get("format") == "kiln.checkpoint", meta.get("format")
    # the checksum covers the header JSON without the checksum entry, then the data section
    hdr = json.loads(header_bytes)
    stored = hdr["__metadata__"].pop("checksum")
    canon = json.dumps(hdr, separators=(",", ":"), ensure_ascii=False).encode()
    crc = zlib.crc32(data, zlib.crc32(canon))
    assert stored == f"crc32:{crc:08x}", f"checksum mismatch: stored {stored}, computed crc32:{crc:08x}"
    lines.append(f"checksum {stored} verified with zlib.crc32")
    m = model()
    sd = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    res = m.load_state_dict(sd, strict=True)
    lines.append(f"load_state_dict(strict=True): {res}; keys {list(sd)}")
    out = json.loads((HERE / "kiln_output.json").read_text())
    x = torch.tensor(out["x"]["data"], dtype=torch.float32).reshape(out["x"]["shape"])
    want = torch.tensor(out["y"]["data"], dtype=torch.float32).reshape(out["y"]["shape"])
    with torch.no_grad():
        y = m(x)
    err = (y - want).abs().max().item()
    lines.append(f"output {list(y.shape)}: max |torch - kiln| = {err:.3g}")
    assert torch.allclose(y, want, rtol=1e-5, atol=1e-6), f"outputs differ: max abs error {err}"
    # optimizer state: Kiln's per-parameter Adam state maps onto torch.optim.Adam's
    opt_meta = json.loads(meta["optimizer"])
    state = {}
    for k, v in tensors.items():
        if k.startswith("optimizer.state."):
            i, name = k[len("optimizer.state."):].split(".", 1)
            state.setdefault(int(i), {})[name] = v
    for i, s in opt_meta["state"].items():
        for name, v in s.items():
            state.setdefault(int(i), {})[name] = torch.tensor(float(v)) if name == "step" else v
    for s in state.values():
        if "step" in s and not torch.is_tensor(s["step"]):
            s["step"] = torch.tensor(float(s["step"]))
        elif "step" in s:
            s["step"] = s["step"].float().reshape(())
    g = opt_meta["param_groups"][0]
    adam = torch.optim.Adam(m.parameters(), lr=g["lr"], betas=tuple(g["betas"]), eps=g["eps"])
    tsd = adam.state_dict()
    tsd["state"] = state
    adam.load_state_dict(tsd)
    lines.append(f"torch.optim.Adam.load_state_dict: state for params {sorted(adam.state_dict()['state'])}, "
                 f"entries {sorted(next(iter(adam.state_dict()['state'].values())))}, step {float(next(iter(state.values()))['step'])}")
    # one more step in PyTorch from the loaded model and Adam state matches Kiln's next step
    nxt = out["nextStep"]
    tx = torch.tensor(out["trainX"]["data"], dtype=torch.float32).reshape(out["trainX"]["shape"])
    ty = torch.tensor(out["trainY"]["data"], dtype=torch.int64)
    loss = torch.nn.functional.cross_entropy(m(tx), ty)
    adam.zero_grad()
    loss.backward()
    adam.step()
    lerr = abs(loss.item() - nxt["loss"])
    assert lerr <= 1e-6 + 1e-5 * abs(nxt["loss"]), f"loss before the next step: torch {loss.item()}, kiln {nxt['loss']}"
    perr = 0.0
    for k, p in m.state_dict().items():
        want_p = torch.tensor(nxt["params"][k], dtype=torch.float32).reshape(p.shape)
        perr = max(perr, (p - want_p).abs().max().item())
        assert torch.allclose(p, want_p, rtol=1e-5, atol=1e-6), f"{k} after the next step differs: max abs error {(p - want_p).abs().max().item()}"
    lines.append(f"one more torch.optim.Adam step from the loaded state matches Kiln's: loss |diff| {lerr:.3g}, params max |diff| {perr:.3g}")
    lines.append(f"extra: {meta.get('extra')}")
    lines.append("PASS")
    text = "\n".join(lines) + "\n"
    (HERE / "pytorch_check.txt").write_text(text)
    print(text, end="")


if __name__ == "__main__":
    check() if "--check" in sys.argv else generate()
