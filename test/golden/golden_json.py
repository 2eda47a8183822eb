"""What every golden-vector generator writes with: tensors as JSON, float32 values exact.

float32 values are written with the shortest decimal digits that round-trip (reading the
number as a double and rounding to float32, as Math.fround or a Float32Array does, gives the
same bits back; checked for every value); float64 stays float64; integers stay integers.
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))


def f32_short(v):
    """Shortest decimal that round-trips to the float32 value v (as a Python float)."""
    return float(repr(np.float32(v)))


def flat(t):
    """Flat row-major list of a CPU tensor's values."""
    a = t.reshape(-1).numpy()
    if t.dtype == torch.float32:
        data = [f32_short(v) for v in a]
        back = np.array(data, dtype=np.float64).astype(np.float32)
        assert np.array_equal(back.view(np.uint32), a.view(np.uint32)), "float32 round-trip"
        return data
    return a.tolist()


def T(t):
    """Tensor -> {"shape": [...], "data": [...]} (None stays None; half precision widens to float32)."""
    if t is None:
        return None
    t = t.detach().cpu()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    return {"shape": list(t.shape), "data": flat(t)}


def S(t):
    """Scalar tensor -> Python number."""
    return flat(t.detach().cpu().reshape(1))[0]


def with_counts(obj):
    """obj with "counts": the length of each top-level list, which test/golden.ts checks on
    load (an emptied or truncated list of cases must fail, not pass with nothing checked)."""
    return {**obj, "counts": {k: len(v) for k, v in obj.items() if isinstance(v, list)}}


def write(name, obj):
    """Compact JSON next to the generators, with a fixed key order (as built), and counts."""
    path = os.path.join(HERE, name)
    text = json.dumps(with_counts(obj), separators=(",", ":"), allow_nan=False)
    with open(path, "w") as f:
        f.write(text + "\n")
    print(f"wrote {name}: {len(text) / 1024:.1f} KB")
