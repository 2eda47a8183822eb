#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's normalisation layers (test/norm.test.ts).

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_norm.py
Writes norm.json next to this file. Deterministic: a fixed seed per case, one CPU thread,
compact JSON with a fixed key order; running it twice gives byte-identical output.
Conventions (tensor encoding, shortest float32 digits): see README.md in this folder.

Every gradient is of loss = (y * r).sum() with a random r stored in the case.
BatchNorm, LayerNorm and GroupNorm are PyTorch's (float32 in, float32 computed).
RMSNorm does not exist in torch 1.13: its reference is computed here by hand in float64
from the float32 inputs (y = x / sqrt(mean(x^2) + eps) * weight, eps default
torch.finfo(float32).eps, as torch >= 2.4 does) and rounded to float32 once at the end.
"""

import numpy as np
import torch

from golden_json import f32_short, flat, T, write
import torch.nn as nn

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

TORCH_VERSION = torch.__version__
F32_EPS = torch.finfo(torch.float32).eps


# ---------------------------------------------------------------- helpers (as gen_golden.py)

def sd(m):
    """state_dict in PyTorch's key order; num_batches_tracked as an int scalar."""
    return {k: T(v) for k, v in m.state_dict().items()}


def data(shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape) * scale + offset).float()


def run_grad(m, x, r):
    """y, dx, dweight, dbias of (m(x) * r).sum()."""
    for p in m.parameters():
        p.grad = None
    x = x.clone().requires_grad_(True)
    y = m(x)
    (y * r).sum().backward()
    w = getattr(m, "weight", None)
    b = getattr(m, "bias", None)
    return {
        "y": T(y), "gradX": T(x.grad),
        "gradWeight": T(w.grad) if w is not None else None,
        "gradBias": T(b.grad) if b is not None else None,
    }


def term_scales(x, r, mean, sigma, w=None, b=None):
    """Magnitudes of the terms that float32 cancels, in float64 (tensors broadcastable to x).

    y = (x - mean) / sigma * w + b loses |x|+|mean| ulps in the subtraction, amplified by
    |w| / sigma; dx is a difference of terms of size |r * w| / sigma. An absolute error of a
    few ulps of these (not of the result) is what any float32 implementation makes.
    """
    x, r = x.double(), r.double()
    w = torch.ones(()) if w is None else w.double()
    b = torch.zeros(()) if b is None else b.double()
    ys = ((x.abs() + mean.abs()) * w.abs() / sigma + b.abs()).max()
    gs = (r.abs() * w.abs() / sigma).max()
    # dweight = sum r * xhat, dbias = sum r over the elements sharing a weight: sums of terms
    # of these sizes (xhat's own error is absolute in (|x| + |mean|) / sigma)
    gw = (r.abs() * (x.abs() + mean.abs()) / sigma).expand_as(x)
    gb = r.abs()
    while gw.dim() > w.dim():
        gw, gb = gw.sum(0), gb.sum(0)
    for d in range(w.dim()):
        if w.shape[d] == 1:
            gw, gb = gw.sum(d, keepdim=True), gb.sum(d, keepdim=True)
    return {"yScale": float(ys), "gradXScale": float(gs),
            "gradWeightScale": float(gw.max()), "gradBiasScale": float(gb.max())}


def bn_scales(m, x, r, train):
    C = x.shape[1]
    bs = [1, C] + [1] * (x.dim() - 2)
    dims = [d for d in range(x.dim()) if d != 1]
    if train:
        mean = x.double().mean(dims, keepdim=True)
        var = x.double().var(dims, unbiased=False, keepdim=True)
    else:
        mean = m.running_mean.double().reshape(bs)
        var = m.running_var.double().reshape(bs)
    w = m.weight.detach().reshape(bs) if m.weight is not None else None
    b = m.bias.detach().reshape(bs) if m.bias is not None else None
    return term_scales(x, r, mean, (var + m.eps).sqrt(), w, b)


def randomize_affine(m, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        if getattr(m, "weight", None) is not None:
            m.weight.copy_(1 + 0.5 * torch.randn(m.weight.shape, generator=g))
        if getattr(m, "bias", None) is not None:
            m.bias.copy_(0.5 * torch.randn(m.bias.shape, generator=g))


# ---------------------------------------------------------------- BatchNorm

# (name, module, C, input shape, affine, eps, scale, offset)
BN_CASES = [
    ("bn1d_NC_c1", "BatchNorm1d", 1, [6, 1], True, 1e-5, 1.0, 0.0),
    ("bn1d_NC_c3", "BatchNorm1d", 3, [5, 3], True, 1e-5, 2.0, 1.5),
    ("bn1d_NC_c5_noaffine", "BatchNorm1d", 5, [7, 5], False, 1e-5, 1.0, -0.5),
    ("bn1d_NC_c16", "BatchNorm1d", 16, [9, 16], True, 1e-5, 0.5, 3.0),
    ("bn1d_NC_c3_N2", "BatchNorm1d", 3, [2, 3], True, 1e-5, 1.0, 0.0),
    ("bn1d_NCL_c1", "BatchNorm1d", 1, [3, 1, 7], True, 1e-5, 1.0, 0.0),
    ("bn1d_NCL_c3_N1", "BatchNorm1d", 3, [1, 3, 5], False, 1e-5, 1.0, 2.0),
    ("bn1d_NCL_c5", "BatchNorm1d", 5, [4, 5, 9], True, 1e-3, 3.0, 0.0),
    ("bn1d_NCL_c16_noaffine", "BatchNorm1d", 16, [2, 16, 3], False, 1e-5, 1.0, 0.0),
    ("bn2d_c1", "BatchNorm2d", 1, [2, 1, 3, 5], True, 1e-5, 1.0, 0.0),
    ("bn2d_c3", "BatchNorm2d", 3, [3, 3, 5, 7], True, 1e-5, 2.0, -1.0),
    ("bn2d_c3_noaffine", "BatchNorm2d", 3, [2, 3, 7, 3], False, 1e-5, 1.0, 0.5),
    ("bn2d_c5_N1", "BatchNorm2d", 5, [1, 5, 3, 3], True, 1e-3, 1.0, 0.0),
    ("bn2d_c16", "BatchNorm2d", 16, [4, 16, 5, 5], True, 1e-5, 1.5, 1.0),
    ("bn2d_c16_noaffine_1x7", "BatchNorm2d", 16, [3, 16, 1, 7], False, 1e-5, 1.0, 0.0),
]


def make_bn(kind, C, **kw):
    return (nn.BatchNorm1d if kind == "BatchNorm1d" else nn.BatchNorm2d)(C, **kw)


def gen_bn():
    cases = []
    for i, (name, kind, C, shape, affine, eps, scale, offset) in enumerate(BN_CASES):
        torch.manual_seed(2000 + i)
        m = make_bn(kind, C, affine=affine, eps=eps)
        randomize_affine(m, 5000 + i)
        state = sd(m)
        x = data(shape, scale, offset)
        r = torch.randn(*shape)
        m.train()
        train = run_grad(m, x, r)
        train.update(bn_scales(m, x, r, True))
        train["runningMean"] = T(m.running_mean)
        train["runningVar"] = T(m.running_var)
        train["numBatchesTracked"] = int(m.num_batches_tracked)
        # eval with running statistics set to random values (var > 0)
        with torch.no_grad():
            m.running_mean.copy_(torch.randn(C) * 0.5 + offset)
            m.running_var.copy_(torch.rand(C) * 2 * scale * scale + 0.1)
        eval_state = sd(m)
        m.eval()
        ev = run_grad(m, x, r)
        ev.update(bn_scales(m, x, r, False))
        cases.append({
            "name": name, "module": kind, "numFeatures": C, "affine": affine, "eps": eps,
            "state": state, "x": T(x), "r": T(r), "train": train,
            "evalState": eval_state, "eval": ev,
        })
    return cases


# (name, module, C, batch shape, affine, momentum)
BN_STEP_CASES = [
    ("bn1d_NC_c5_m0.1", "BatchNorm1d", 5, [6, 5], True, 0.1),
    ("bn1d_NCL_c3_m0.1", "BatchNorm1d", 3, [4, 3, 5], False, 0.1),
    ("bn1d_NCL_c16_m0.3", "BatchNorm1d", 16, [2, 16, 7], True, 0.3),
    ("bn2d_c3_m0.1", "BatchNorm2d", 3, [2, 3, 5, 3], True, 0.1),
    ("bn2d_c16_m0.3", "BatchNorm2d", 16, [3, 16, 3, 5], True, 0.3),
    ("bn2d_c1_m0.7_noaffine", "BatchNorm2d", 1, [2, 1, 7, 5], False, 0.7),
]


def gen_bn_steps():
    cases = []
    for i, (name, kind, C, shape, affine, momentum) in enumerate(BN_STEP_CASES):
        torch.manual_seed(3000 + i)
        m = make_bn(kind, C, affine=affine, momentum=momentum)
        randomize_affine(m, 6000 + i)
        state = sd(m)
        xs = [data(shape, 1.0 + k, 0.5 * k - 0.3) for k in range(3)]
        m.train()
        ys = []
        with torch.no_grad():
            for x in xs:
                ys.append(T(m(x)))
        after = sd(m)
        assert int(m.num_batches_tracked) == 3
        xe = data(shape, 2.0, 0.0)
        m.eval()
        with torch.no_grad():
            ye = m(xe)
        cases.append({
            "name": name, "module": kind, "numFeatures": C, "affine": affine, "momentum": momentum,
            "eps": 1e-5, "state": state, "xs": [T(x) for x in xs], "ys": ys, "after": after,
            "evalX": T(xe), "evalY": T(ye),
        })
    return cases


def gen_bn_no_track():
    """track_running_stats=False: no buffers; batch statistics in train and eval mode."""
    torch.manual_seed(3500)
    m = nn.BatchNorm2d(3, track_running_stats=False)
    randomize_affine(m, 3501)
    x = data([2, 3, 3, 5], 1.5, 0.7)
    r = torch.randn(2, 3, 3, 5)
    m.train()
    tr = run_grad(m, x, r)
    tr.update(bn_scales(m, x, r, True))
    m.eval()
    ev = run_grad(m, x, r)
    ev.update(bn_scales(m, x, r, True))
    return {"name": "bn2d_c3_no_track", "module": "BatchNorm2d", "numFeatures": 3, "state": sd(m),
            "x": T(x), "r": T(r), "train": tr, "eval": ev}


# ---------------------------------------------------------------- LayerNorm

# (name, input shape, normalized shape, affine, eps, scale, offset)
LN_CASES = [
    ("ln_c1", [4, 1], [1], True, 1e-5, 1.0, 0.0),
    ("ln_c3", [5, 3], [3], True, 1e-5, 2.0, 1.0),
    ("ln_c5_noaffine", [2, 4, 5], [5], False, 1e-5, 1.0, 0.0),
    ("ln_c16", [3, 16], [16], True, 1e-5, 1.0, -2.0),
    ("ln_3x7", [2, 3, 7], [3, 7], True, 1e-5, 1.0, 0.0),
    ("ln_5x3x3_noaffine", [2, 5, 3, 3], [5, 3, 3], False, 1e-5, 3.0, 0.0),
    ("ln_c16_eps1e-3", [1, 3, 16], [16], True, 1e-3, 0.1, 0.0),
]


def gen_ln():
    cases = []
    for i, (name, shape, ns, affine, eps, scale, offset) in enumerate(LN_CASES):
        torch.manual_seed(4000 + i)
        m = nn.LayerNorm(ns, eps=eps, elementwise_affine=affine)
        randomize_affine(m, 7000 + i)
        x = data(shape, scale, offset)
        r = torch.randn(*shape)
        m.train()
        res = run_grad(m, x, r)
        m.eval()
        assert run_grad(m, x, r) == res, "LayerNorm: eval == train"
        dims = tuple(range(len(shape) - len(ns), len(shape)))
        mean = x.double().mean(dims, keepdim=True)
        var = x.double().var(dims, unbiased=False, keepdim=True)
        w = m.weight.detach() if affine else None
        b = m.bias.detach() if affine else None
        res.update(term_scales(x, r, mean, (var + eps).sqrt(), w, b))
        cases.append({"name": name, "normalizedShape": ns, "affine": affine, "eps": eps, "state": sd(m),
                      "x": T(x), "r": T(r), **res})
    return cases


# ---------------------------------------------------------------- GroupNorm

# (name, input shape, groups, affine, eps, scale, offset)
GN_CASES = [
    ("gn_c1_g1", [2, 1, 3, 5], 1, True, 1e-5, 1.0, 0.0),
    ("gn_c3_g1", [2, 3, 5, 3], 1, True, 1e-5, 1.0, 1.0),
    ("gn_c3_g3_noaffine", [3, 3, 7], 3, False, 1e-5, 2.0, 0.0),
    ("gn_c5_g5", [2, 5, 3, 3], 5, True, 1e-5, 1.0, -1.0),
    ("gn_c5_g1_NC", [4, 5], 1, True, 1e-5, 1.0, 0.0),
    ("gn_c16_g4", [2, 16, 5, 7], 4, True, 1e-5, 1.5, 0.5),
    ("gn_c16_g2_noaffine", [1, 16, 3, 3], 2, False, 1e-5, 1.0, 0.0),
    ("gn_c16_g16_eps1e-3", [2, 16, 1, 5], 16, True, 1e-3, 0.2, 0.0),
]


def gen_gn():
    cases = []
    for i, (name, shape, G, affine, eps, scale, offset) in enumerate(GN_CASES):
        torch.manual_seed(5000 + i)
        m = nn.GroupNorm(G, shape[1], eps=eps, affine=affine)
        randomize_affine(m, 8000 + i)
        x = data(shape, scale, offset)
        r = torch.randn(*shape)
        m.train()
        res = run_grad(m, x, r)
        m.eval()
        assert run_grad(m, x, r) == res, "GroupNorm: eval == train"
        g = x.double().reshape(shape[0], G, -1)
        mean = g.mean(2, keepdim=True).expand_as(g).reshape(shape)
        var = g.var(2, unbiased=False, keepdim=True).expand_as(g).reshape(shape)
        bs = [1, shape[1]] + [1] * (len(shape) - 2)
        w = m.weight.detach().reshape(bs) if affine else None
        b = m.bias.detach().reshape(bs) if affine else None
        res.update(term_scales(x, r, mean, (var + eps).sqrt(), w, b))
        cases.append({"name": name, "numGroups": G, "numChannels": shape[1], "affine": affine, "eps": eps,
                      "state": sd(m), "x": T(x), "r": T(r), **res})
    return cases


# ---------------------------------------------------------------- RMSNorm (by hand, float64)

# (name, input shape, normalized shape, affine, eps or None for the default, scale)
RMS_CASES = [
    ("rms_c1", [4, 1], [1], True, None, 1.0),
    ("rms_c3", [5, 3], [3], True, None, 2.0),
    ("rms_c5_noaffine", [2, 3, 5], [5], False, None, 1.0),
    ("rms_c16", [3, 16], [16], True, None, 1.0),
    ("rms_3x7", [2, 3, 7], [3, 7], True, None, 0.5),
    ("rms_c16_eps1e-3", [2, 16], [16], True, 1e-3, 0.05),
    ("rms_5x3x3_noaffine_eps1e-6", [2, 5, 3, 3], [5, 3, 3], False, 1e-6, 1.0),
]


def gen_rms():
    cases = []
    for i, (name, shape, ns, affine, eps, scale) in enumerate(RMS_CASES):
        torch.manual_seed(6000 + i)
        x = data(shape, scale)
        r = torch.randn(*shape)
        w = (1 + 0.5 * torch.randn(*ns)).float() if affine else None
        e = F32_EPS if eps is None else eps
        x64 = x.double().requires_grad_(True)
        w64 = w.double().requires_grad_(True) if affine else None
        dims = tuple(range(len(shape) - len(ns), len(shape)))
        y64 = x64 / torch.sqrt(x64.pow(2).mean(dims, keepdim=True) + e)
        if affine:
            y64 = y64 * w64
        (y64 * r.double()).sum().backward()
        rms = (x.double().pow(2).mean(dims, keepdim=True) + e).sqrt()
        cases.append({
            "name": name, "normalizedShape": ns, "affine": affine, "eps": eps,
            "state": {"weight": T(w)} if affine else {}, "x": T(x), "r": T(r),
            "y": T(y64.float()), "gradX": T(x64.grad.float()),
            "gradWeight": T(w64.grad.float()) if affine else None, "gradBias": None,
            **term_scales(x, r, torch.zeros(()), rms, w),
        })
    return cases


def main():
    out = {
        "torchVersion": TORCH_VERSION,
        "description": (
            "Normalisation layers. Grads are of (y * r).sum(). batchNorm: one training forward "
            "from `state` (train: y, grads, running stats after it) and an eval forward from "
            "`evalState`; batchNormSteps: 3 training forwards (no grad) from `state` with `ys` the "
            "outputs, `after` the state_dict after them, then evalY = eval forward of evalX. "
            "rmsNorm is computed by hand in float64 (torch 1.13 has no RMSNorm); eps null means "
            "the default torch.finfo(float32).eps. yScale and gradXScale (float64) are the largest "
            "magnitudes of the terms float32 cancels in y = (x - mean) / sigma * w + b and in dx "
            "((|x| + |mean|) |w| / sigma + |b| and |r w| / sigma); gradWeightScale and gradBiasScale the "
            "largest sums of |r| (|x| + |mean|) / sigma and |r| over the elements sharing a weight: "
            "the scale of float32's absolute error."),
        "batchNorm": gen_bn(),
        "batchNormSteps": gen_bn_steps(),
        "batchNormNoTrack": gen_bn_no_track(),
        "layerNorm": gen_ln(),
        "groupNorm": gen_gn(),
        "rmsNorm": gen_rms(),
    }
    write("norm.json", out)


if __name__ == "__main__":
    main()
