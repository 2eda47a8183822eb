#!/usr/bin/python3
"""Generate PyTorch's results on IEEE special values (NaN, infinities, zeros) for Kiln's ops.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_ieee.py
Writes ieee.json next to this file (deterministic: no random values).

JSON has no NaN or infinity: in every `data` list they are the strings "nan", "inf", "-inf".
Bools are 0 and 1. Op names are Kiln's (camelCase); TORCH maps them to PyTorch.

Contents: {torchVersion, count, pairs, rowInputs, cases: [...]}, `count` the number of cases, each one of
  {kind: "unary", op, dtype, x, want}              op(x), x a tensor of dtype
  {kind: "binary", op, dtype, want}                op(a, b) of the top-level `pairs` {a, b}: every
                                                   pair of SPECIAL values, in dtype
  {kind: "scalar", op, dtype, x, s, want}          op(x, s), s a Python number
  {kind: "self", op, x, want}                      op(x, x), the same tensor twice
  {kind: "clamp", x, min, max, want}
  {kind: "nanToNum", dtype, x, options, want}      options: {nan, posinf, neginf} (absent: default)
  {kind: "rows", op, input, want}                  op over the last dim of rowInputs[input] [R, C]
  {kind: "crossEntropy", input, target, want}      per-row F.cross_entropy (reduction "none")
  {kind: "all", op, x, want}                       op over every element
  {kind: "grad", op, x, want}                      d sum(op(x)) / dx
  {kind: "cast", x, dtype, want}                   float32 -> dtype
float16: CPU PyTorch 1.13 has no Half kernel for most ops (log, exp, sigmoid, ...); for those
the float32 result rounded to float16, which is what its CUDA kernels give (they compute in
float32) and what Kiln's packed float16 does.
"""
import json
import math
import os

import torch

from golden_json import with_counts
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
nan, inf = math.nan, math.inf

X = [nan, -1.0, 0.0, 0.5, 2.0, inf, -inf]
SPECIAL = [nan, -inf, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0, inf]

UNARY = {
    "neg": torch.neg, "exp": torch.exp, "log": torch.log, "log1p": torch.log1p,
    "sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "abs": torch.abs, "sign": torch.sign,
    "sin": torch.sin, "cos": torch.cos, "floor": torch.floor, "erf": torch.erf,
    "relu": torch.relu, "leakyRelu": F.leaky_relu, "elu": F.elu, "sigmoid": torch.sigmoid,
    "tanh": torch.tanh, "softplus": F.softplus, "gelu": F.gelu,
    "geluTanh": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu,
    "isfinite": torch.isfinite, "isnan": torch.isnan, "isinf": torch.isinf,
}
BINARY = {
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
    "maximum": torch.maximum, "minimum": torch.minimum, "eq": torch.eq, "ne": torch.ne,
    "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
}
ROWS = {
    "softmax": lambda x: torch.softmax(x, -1), "logSoftmax": lambda x: torch.log_softmax(x, -1),
    "logsumexp": lambda x: torch.logsumexp(x, -1), "max": lambda x: x.amax(-1),
    "min": lambda x: x.amin(-1), "argmax": lambda x: x.argmax(-1), "argmin": lambda x: x.argmin(-1),
    "sum": lambda x: x.sum(-1),
}


def long_rows():
    # 300 columns: reductions take the workgroup-per-output path (two NaNs: the first one's index)
    r = torch.linspace(-3, 3, 300).repeat(3, 1)
    r[0, 150] = nan
    r[0, 299] = nan
    r[1, 10] = inf
    r[2, 299] = nan
    return r


ROW_INPUTS = {
    "short": torch.tensor([[inf, 1.0], [-inf, -inf], [nan, 1.0], [1.0, 2.0], [inf, inf], [inf, -inf], [-inf, 1.0], [1.0, nan]]),
    "long": long_rows(),
}


def enc(v):
    if isinstance(v, bool):
        return int(v)
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    # shortest digits that give the float32 (or float16) value back: repr of the double is exact
    return v


def T(t):
    t = t.detach()
    if t.dtype == torch.bool:
        t = t.int()
    return {"shape": list(t.shape), "data": [enc(v) for v in t.reshape(-1).tolist()]}


def half(fn, *args):
    """fn on float16 tensors: PyTorch's Half kernel where it has one, else float32 rounded."""
    try:
        return fn(*args)
    except RuntimeError:
        r = fn(*[a.float() if isinstance(a, torch.Tensor) else a for a in args])
        return r.half() if r.is_floating_point() else r


def run(fn, dtype, *args):
    return half(fn, *args) if dtype == "float16" else fn(*args)


def tensor(values, dtype="float32"):
    return torch.tensor(values, dtype=getattr(torch, dtype))


def cases():
    out = []
    for dtype in ("float32", "float16"):
        x = tensor(X, dtype)
        for op, fn in UNARY.items():
            out.append({"kind": "unary", "op": op, "dtype": dtype, "x": T(x), "want": T(run(fn, dtype, x))})
        a = tensor([p for p in SPECIAL for _ in SPECIAL], dtype)
        b = tensor([q for _ in SPECIAL for q in SPECIAL], dtype)
        for op, fn in BINARY.items():
            out.append({"kind": "binary", "op": op, "dtype": dtype, "want": T(run(fn, dtype, a, b))})
        # (no pow(x, 0.5): PyTorch computes a scalar exponent of 0.5 as sqrt, so (-inf)^0.5 is NaN
        # there, +inf for a tensor exponent and C's pow)
        for op, s in (("mul", 0.0), ("div", 0.0), ("pow", -1.0), ("pow", 2.0), ("maximum", 0.0), ("minimum", 0.0)):
            fn = (lambda t, v, f=BINARY[op]: f(t, torch.tensor(v, dtype=t.dtype))) if op in ("maximum", "minimum") else BINARY[op]
            out.append({"kind": "scalar", "op": op, "dtype": dtype, "x": T(x), "s": s, "want": T(run(fn, dtype, x, s))})
        out.append({"kind": "nanToNum", "dtype": dtype, "x": T(x), "options": {}, "want": T(torch.nan_to_num(x))})
        opts = {"nan": 1.5, "posinf": 2.0, "neginf": -3.0}
        out.append({"kind": "nanToNum", "dtype": dtype, "x": T(x), "options": opts, "want": T(torch.nan_to_num(x, **opts))})
    x = tensor(X)
    for op, fn in (("eq", torch.eq), ("ne", torch.ne), ("le", torch.le), ("ge", torch.ge), ("lt", torch.lt)):
        out.append({"kind": "self", "op": op, "x": T(x), "want": T(fn(x, x))})
    out.append({"kind": "clamp", "x": T(x), "min": 0.0, "max": 1.0, "want": T(x.clamp(0.0, 1.0))})
    for op, fn in ROWS.items():
        for name, r in ROW_INPUTS.items():
            out.append({"kind": "rows", "op": op, "input": name, "want": T(fn(r))})
    for name, r in ROW_INPUTS.items():
        target = torch.arange(r.shape[0]) % r.shape[1]
        want = F.cross_entropy(r, target, reduction="none")
        out.append({"kind": "crossEntropy", "input": name, "target": target.tolist(), "want": T(want)})
    for op, fn in (("max", torch.amax), ("min", torch.amin), ("sum", torch.sum)):
        for v in (x, x.flip(0)):
            out.append({"kind": "all", "op": op, "x": T(v), "want": T(fn(v))})
    xg = x.clone().requires_grad_(True)
    torch.nan_to_num(xg).sum().backward()
    out.append({"kind": "grad", "op": "nanToNum", "x": T(x), "want": T(xg.grad)})
    big = torch.tensor([70000.0, -70000.0, 65504.0, 65519.0, 65520.0, 1e-8, nan, inf])
    out.append({"kind": "cast", "x": T(big), "dtype": "float16", "want": T(big.half())})
    h = tensor([60000.0, -60000.0, 1.0], "float16")
    out.append({"kind": "scalar", "op": "mul", "dtype": "float16", "x": T(h), "s": 2.0, "want": T(h * 2)})
    return out


def main():
    torch.set_num_threads(1)
    cs = cases()
    pairs = {"a": T(torch.tensor([p for p in SPECIAL for _ in SPECIAL])), "b": T(torch.tensor([q for _ in SPECIAL for q in SPECIAL]))}
    rows = {k: T(v) for k, v in ROW_INPUTS.items()}
    obj = {"torchVersion": torch.__version__, "count": len(cs), "pairs": pairs, "rowInputs": rows, "cases": cs}
    text = json.dumps(with_counts(obj), separators=(",", ":"), allow_nan=False)
    with open(os.path.join(HERE, "ieee.json"), "w") as f:
        f.write(text + "\n")
    print(f"wrote ieee.json: {len(cs)} cases, {len(text) / 1024:.1f} KB")


if __name__ == "__main__":
    main()
