#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's F.interpolate, F.pad and their modules.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_resample.py
Writes resample.json next to this file. Deterministic: fixed seed per case, one CPU thread,
compact JSON with a fixed key order. Conventions as in README.md (float32 values in shortest
round-trip digits, camelCase option names). Objective for every gradient: (y * r).sum() with
r stored.

Contents:
  interpolate: [{name, x, options, y, r, gradX, kY, kGrad, gradXAdjoint?}]   F.interpolate(x, **options)
  pad:         [{name, x, pad, mode, value, y, r, gradX, kY, kGrad}]   F.pad(x, pad, mode, value)
  modules:     [{name, cls, args, x, y, r, gradX, kY, kGrad}]   the nn module built from args (Kiln's form)
  kY / kGrad: the most terms an element of y / gradX sums (nonzeros of the Jacobian's rows /
  columns); 1 means a plain copy.
  gradXAdjoint: only where PyTorch's nearest backward is not the adjoint of its forward (see
  interpolate_cases): the gradient of the forward PyTorch computes.
  nearestIndex: [{n, size, scaleFactor, mode, index}]   source index of each output
  linearMatrix: [{n, size, scaleFactor, alignCorners, matrix}]   [o, n] interpolation weights

Every 4-d input has at least 2 channels: PyTorch's CPU kernels take a channels-last path for
a contiguous [N, 1, H, W] tensor, and that path's nearest rule differs from the generic one
(it copies when the output size equals the input size and halves when it is twice it, whatever
scale_factor says; checked below). Kiln follows the generic rule, floor(dst / scale_factor).
"""
import math

import numpy as np
import torch

from golden_json import f32_short, flat, T, write
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

TORCH_VERSION = torch.__version__


def run(seed, shape, fn, same_forward=None):
    """x ~ N(0, 1) of `shape`, y = fn(x), r ~ N(0, 1) like y, gradX of (y * r).sum(), kY, kGrad.

    same_forward: another implementation of fn's forward (checked equal), whose gradient is
    stored as gradXAdjoint, for the cases where PyTorch's own backward is not the adjoint of
    its forward.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g).requires_grad_(True)
    y = fn(x)
    r = torch.randn(y.shape, generator=g)
    (y * r).sum().backward()
    out = {"x": T(x), "y": T(y), "r": T(r), "gradX": T(x.grad)}
    if same_forward is not None:
        x2 = x.detach().clone().requires_grad_(True)
        y2 = same_forward(x2)
        assert torch.equal(y2, y.detach())
        (y2 * r).sum().backward()
        assert not torch.equal(x2.grad, x.grad), "PyTorch's backward agrees here: no need for gradXAdjoint"
        out["gradXAdjoint"] = T(x2.grad)
        fn = same_forward
    # the most terms any output sums (kY) and any input gradient sums (kGrad): the nonzeros
    # per row and per column of the Jacobian; 1 means a plain copy, compared exactly
    jac = torch.autograd.functional.jacobian(fn, x.detach()).reshape(y.numel(), x.numel()) != 0
    out.update({"kY": int(jac.sum(1).max()), "kGrad": int(jac.sum(0).max())})
    return out


# ---------------------------------------------------------------- interpolate

def lst(v):
    return list(v) if isinstance(v, tuple) else v


# (name, input shape, size, scale_factor, mode, align_corners, recompute_scale_factor)
INTERP = [
    ("nearest x2", (2, 2, 4, 5), None, 2, "nearest", None, None),
    ("nearest x3 odd", (1, 2, 3, 5), None, 3.0, "nearest", None, None),
    ("nearest size up non-integer", (2, 2, 4, 5), (7, 9), None, "nearest", None, None),
    ("nearest size down", (1, 3, 7, 5), (3, 2), None, "nearest", None, None),
    ("nearest x0.5 (stride 2)", (2, 2, 6, 7), None, 0.5, "nearest", None, None),
    ("nearest x1.5 (scale 1/1.5, not in/out)", (1, 3, 5, 4), None, 1.5, "nearest", None, None),
    ("nearest per-dim (2, 1.7)", (1, 2, 3, 5), None, (2, 1.7), "nearest", None, None),
    ("nearest x1.1: out == in, yet not a copy", (1, 2, 5, 6), None, 1.1, "nearest", None, None),
    ("nearest 1-d x2.1: out == 2 in, yet not a halving", (1, 2, 5), None, 2.1, "nearest", None, None),
    ("nearest x1.5 recomputeScaleFactor", (1, 2, 5, 4), None, 1.5, "nearest", None, True),
    ("nearest-exact size", (2, 2, 4, 6), (7, 3), None, "nearest-exact", None, None),
    ("nearest-exact x2.5", (1, 3, 3, 4), None, 2.5, "nearest-exact", None, None),
    ("bilinear x2", (1, 3, 5, 6), None, 2, "bilinear", False, None),
    ("bilinear alignCorners size", (1, 2, 4, 5), (9, 7), None, "bilinear", True, None),
    ("bilinear size down", (1, 2, 7, 9), (3, 4), None, "bilinear", False, None),
    ("bilinear x1.5 odd", (1, 3, 5, 7), None, 1.5, "bilinear", False, None),
    ("bilinear alignCorners x0.6", (1, 2, 8, 6), None, 0.6, "bilinear", True, None),
    ("bilinear H=1 input", (2, 2, 1, 4), (3, 5), None, "bilinear", False, None),
    ("bilinear one axis unchanged", (1, 2, 5, 6), (5, 8), None, "bilinear", False, None),
    ("bilinear alignCorners to 1x1", (1, 2, 4, 5), (1, 1), None, "bilinear", True, None),
    ("bilinear x0.5", (1, 2, 6, 8), None, 0.5, "bilinear", False, None),
    ("bilinear x3 odd", (1, 2, 3, 5), None, 3, "bilinear", False, None),
    ("bilinear size 2/3 and 4/3", (1, 2, 9, 6), (6, 8), None, "bilinear", False, None),
    ("nearest-exact size 2/3", (1, 2, 6, 9), (4, 6), None, "nearest-exact", None, None),
    ("nearest 1-d size", (2, 3, 7), 10, None, "nearest", None, None),
    ("linear 1-d x1.7", (2, 2, 6), None, 1.7, "linear", False, None),
    ("linear 1-d alignCorners size", (1, 3, 5), 4, None, "linear", True, None),
    ("nearest-exact 1-d x0.6", (1, 2, 9), None, 0.6, "nearest-exact", None, None),
    ("area size", (1, 2, 7, 9), (3, 4), None, "area", None, None),
    ("area 1-d x0.5", (1, 2, 9), None, 0.5, "area", None, None),
]


def gather_forward(x, kw):
    """F.interpolate's nearest forward as index_select per spatial axis (its indices read off
    an arange through the generic kernel: 2 channels)."""
    y = x
    n_sp = x.dim() - 2
    for d in range(n_sp):
        n = x.shape[2 + d]
        shp = [1, 2] + [1] * n_sp
        shp[2 + d] = n
        ar = torch.arange(n, dtype=torch.float32).reshape([1, 1] + shp[2:]).expand(shp).contiguous()
        sf = kw["scale_factor"]
        sfs = [1.0] * n_sp
        sfs[d] = sf[d] if isinstance(sf, tuple) else sf
        idx = F.interpolate(ar, scale_factor=tuple(sfs) if n_sp > 1 else sfs[0], mode=kw["mode"])
        idx = idx[0, 1].reshape(-1).long()
        y = y.index_select(2 + d, idx)
    return y


def interpolate_cases():
    out = []
    for i, (name, shape, size, sf, mode, ac, rsf) in enumerate(INTERP):
        kw = {"size": size, "scale_factor": sf, "mode": mode}
        if ac is not None:
            kw["align_corners"] = ac
        if rsf is not None:
            kw["recompute_scale_factor"] = rsf
        # PyTorch's nearest backward copies when out == in and halves when out == 2 in, but
        # its forward does not (with a scale factor whose inverse is not in/out): there the
        # adjoint of the forward is stored as well (gradXAdjoint), from a gather
        n_sp = len(shape) - 2
        odd = mode == "nearest" and sf is not None and not rsf and any(
            math.floor(shape[2 + d] * (sf[d] if isinstance(sf, tuple) else sf)) in (shape[2 + d], 2 * shape[2 + d])
            and not (sf[d] if isinstance(sf, tuple) else sf) in (1, 2) for d in range(n_sp))
        same = (lambda x: gather_forward(x, kw)) if odd else None
        case = run(1000 + i, shape, lambda x: F.interpolate(x, **kw), same)
        opts = {"mode": mode}
        if size is not None:
            opts["size"] = lst(size)
        if sf is not None:
            opts["scaleFactor"] = lst(sf)
        if ac is not None:
            opts["alignCorners"] = ac
        if rsf is not None:
            opts["recomputeScaleFactor"] = rsf
        out.append({"name": name, "options": opts, **case})
    return out


# ---------------------------------------------------------------- pad

# (name, input shape, pad, mode, value)
PAD = [
    ("constant 1-d", (2, 3, 6), (1, 2), "constant", 0.0),
    ("constant 2-d value 1.5", (2, 2, 4, 5), (1, 0, 2, 3), "constant", 1.5),
    ("constant negative (crop)", (1, 3, 5, 6), (-1, 2, 1, -2), "constant", 0.0),
    ("constant 3 dims value -2", (1, 3, 4, 5), (1, 1, 0, 2, 1, 0), "constant", -2.0),
    ("constant 2-d input", (4, 5), (2, 1), "constant", 0.5),
    ("constant crop to nothing added", (1, 2, 4, 6), (-2, -1, -1, 0), "constant", 3.0),
    ("reflect 1-d", (2, 3, 6), (2, 3), "reflect", None),
    ("reflect 2-d asymmetric", (2, 2, 5, 6), (1, 2, 3, 0), "reflect", None),
    ("reflect 2-d unbatched, widest", (2, 4, 5), (4, 4, 3, 3), "reflect", None),
    ("reflect negative", (2, 2, 6), (-1, 2), "reflect", None),
    ("reflect 1-d on [C, L]", (3, 5), (3, 1), "reflect", None),
    ("replicate 1-d", (2, 3, 5), (3, 1), "replicate", None),
    ("replicate 2-d", (1, 2, 3, 4), (2, 3, 1, 4), "replicate", None),
    ("replicate negative", (1, 2, 4, 5), (-2, 1, 0, 2), "replicate", None),
    ("circular 1-d", (2, 3, 5), (2, 3), "circular", None),
    ("circular 2-d", (2, 2, 4, 5), (1, 2, 3, 0), "circular", None),
    ("circular whole dim and negative", (1, 2, 4, 4), (-1, 2, 4, 0), "circular", None),
    ("reflect 3-d", (1, 1, 3, 4, 5), (1, 1, 2, 0, 1, 2), "reflect", None),
    ("replicate 3-d unbatched", (2, 3, 4, 3), (0, 2, 1, 1, 2, 0), "replicate", None),
]


def pad_cases():
    out = []
    for i, (name, shape, p, mode, value) in enumerate(PAD):
        if mode == "constant":
            fn = lambda x: F.pad(x, p, mode, value)
        else:
            fn = lambda x: F.pad(x, p, mode)
        case = run(2000 + i, shape, fn)
        out.append({"name": name, "pad": list(p), "mode": mode, "value": value, **case})
    return out


# ---------------------------------------------------------------- modules

# (name, Kiln class, Kiln args, torch module, input shape)
MODULES = [
    ("Upsample nearest x2", "Upsample", [{"scaleFactor": 2}], nn.Upsample(scale_factor=2), (1, 2, 3, 4)),
    ("Upsample bilinear size", "Upsample", [{"size": [5, 7], "mode": "bilinear", "alignCorners": False}],
     nn.Upsample(size=(5, 7), mode="bilinear", align_corners=False), (2, 2, 3, 4)),
    ("UpsamplingNearest2d x3", "UpsamplingNearest2d", [{"scaleFactor": 3}], nn.UpsamplingNearest2d(scale_factor=3), (1, 2, 2, 3)),
    ("UpsamplingBilinear2d size", "UpsamplingBilinear2d", [{"size": 6}], nn.UpsamplingBilinear2d(size=6), (1, 2, 3, 4)),
    ("ZeroPad2d 2", "ZeroPad2d", [2], nn.ZeroPad2d(2), (1, 2, 3, 4)),
    ("ZeroPad2d tuple", "ZeroPad2d", [[1, 0, 2, -1]], nn.ZeroPad2d((1, 0, 2, -1)), (2, 2, 3, 4)),
    ("ConstantPad2d", "ConstantPad2d", [[1, 2, 0, 1], 3.5], nn.ConstantPad2d((1, 2, 0, 1), 3.5), (1, 2, 3, 4)),
    ("ConstantPad1d", "ConstantPad1d", [2, -1.0], nn.ConstantPad1d(2, -1.0), (2, 3, 4)),
    ("ReflectionPad2d", "ReflectionPad2d", [2], nn.ReflectionPad2d(2), (1, 2, 3, 4)),
    ("ReflectionPad2d tuple unbatched", "ReflectionPad2d", [[3, 0, 1, 2]], nn.ReflectionPad2d((3, 0, 1, 2)), (2, 4, 4)),
    ("ReflectionPad1d", "ReflectionPad1d", [[2, 1]], nn.ReflectionPad1d((2, 1)), (2, 2, 5)),
    ("ReplicationPad2d tuple", "ReplicationPad2d", [[1, 0, 2, 3]], nn.ReplicationPad2d((1, 0, 2, 3)), (2, 2, 3, 4)),
    ("ReplicationPad1d", "ReplicationPad1d", [3], nn.ReplicationPad1d(3), (1, 2, 4)),
    ("ReplicationPad3d", "ReplicationPad3d", [1], nn.ReplicationPad3d(1), (1, 2, 2, 3, 3)),
    ("ReflectionPad3d", "ReflectionPad3d", [[1, 0, 1, 2, 0, 1]], nn.ReflectionPad3d((1, 0, 1, 2, 0, 1)), (1, 2, 2, 3, 3)),
    ("ConstantPad3d", "ConstantPad3d", [[1, 0, 1, 0, 0, 1], 0.25], nn.ConstantPad3d((1, 0, 1, 0, 0, 1), 0.25), (1, 2, 2, 3, 3)),
    ("Unflatten", "Unflatten", [1, [2, 3]], nn.Unflatten(1, (2, 3)), (2, 6, 4)),
    ("Unflatten -1 last dim", "Unflatten", [-1, [2, -1]], nn.Unflatten(-1, (2, -1)), (3, 8)),
]


def module_cases():
    out = []
    for i, (name, cls, args, mod, shape) in enumerate(MODULES):
        case = run(3000 + i, shape, mod)
        out.append({"name": name, "cls": cls, "args": args, **case})
    return out


# ---------------------------------------------------------------- index rules

def nearest_index_table():
    """Source index of each output, read off an arange input (generic kernel: 2 channels)."""
    out = []
    specs = [(n, o, None) for n in (1, 2, 3, 5, 7, 10, 13) for o in (1, 2, 3, 4, 6, 9, 11, 14, 20, 27)]
    specs += [(n, int(n * sf), sf) for n in (2, 3, 5, 6, 9, 11, 17) for sf in (0.3, 0.5, 2 / 3, 0.7, 1.1, 1.25, 1.5, 1.7, 2.0, 2.2, 2.5, 3.0, 1 / 3, 4.0)
              if int(n * sf) >= 1]
    for n, o, sf in specs:
        for mode in ("nearest", "nearest-exact"):
            x = torch.arange(n, dtype=torch.float32).reshape(1, 1, 1, n).expand(1, 2, 1, n).contiguous()
            if sf is None:
                y = F.interpolate(x, size=(1, o), mode=mode)
            else:
                y = F.interpolate(x, scale_factor=(1.0, sf), mode=mode)
            idx = [int(v) for v in y[0, 1, 0].tolist()]
            assert len(idx) == o
            # the 1-d kernel agrees with the 2-d one
            x1 = x[:, :, 0]
            y1 = F.interpolate(x1, size=o, mode=mode) if sf is None else F.interpolate(x1, scale_factor=sf, mode=mode)
            assert [int(v) for v in y1[0, 1].tolist()] == idx, (n, o, sf, mode)
            out.append({"n": n, "size": o, "scaleFactor": sf, "mode": mode, "index": idx})
    return out


def linear_matrix_table():
    """[o, n] weights of linear interpolation, read off one-hot inputs (2 channels, 2-d)."""
    out = []
    specs = [(n, o, None) for n, o in ((1, 3), (2, 3), (2, 5), (3, 2), (4, 7), (5, 3), (5, 8), (6, 4), (7, 2), (8, 13), (3, 1), (9, 5))]
    specs += [(n, int(n * sf), sf) for n, sf in ((4, 1.5), (5, 1.5), (5, 0.6), (7, 1.7), (6, 2.5), (9, 0.7), (5, 1.1), (3, 3.0))]
    for n, o, sf in specs:
        for ac in (False, True):
            x = torch.eye(n).reshape(n, 1, 1, n).expand(n, 2, 1, n).contiguous()
            if sf is None:
                y = F.interpolate(x, size=(1, o), mode="bilinear", align_corners=ac)
            else:
                y = F.interpolate(x, scale_factor=(1.0, sf), mode="bilinear", align_corners=ac)
            m = y[:, 1, 0].t().contiguous()  # [o, n]
            out.append({"n": n, "size": o, "scaleFactor": sf, "alignCorners": ac, "matrix": T(m)})
    return out


def check_channels_last_differs():
    """The documented divergence: [N, 1, H, W] (channels-last contiguous) copies at x1.1."""
    x = torch.arange(5, dtype=torch.float32)
    one = F.interpolate(x.reshape(1, 1, 1, 5), scale_factor=(1.0, 1.1), mode="nearest")[0, 0, 0]
    two = F.interpolate(x.reshape(1, 1, 1, 5).expand(1, 2, 1, 5).contiguous(), scale_factor=(1.0, 1.1), mode="nearest")[0, 1, 0]
    assert one.tolist() == [0, 1, 2, 3, 4] and two.tolist() == [0, 0, 1, 2, 3], (one, two)


def main():
    check_channels_last_differs()
    write("resample.json", {
        "torchVersion": TORCH_VERSION,
        "description": "F.interpolate, F.pad and their modules: forward and grad of (y * r).sum(); index rules",
        "interpolate": interpolate_cases(),
        "pad": pad_cases(),
        "modules": module_cases(),
        "nearestIndex": nearest_index_table(),
        "linearMatrix": linear_matrix_table(),
    })


if __name__ == "__main__":
    main()
