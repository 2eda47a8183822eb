#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's convolution and pooling tests.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_conv.py
Writes conv.json (conv2d, conv1d, convTranspose2d), conv_pool.json (maxPool2d, avgPool2d,
adaptiveAvgPool2d) and conv_cnn.json (a small CNN trained 5 SGD steps) next to this file.
Deterministic: fixed seed per case, one CPU thread, compact JSON with a fixed key order.
Conventions as in README.md (float32 values in shortest round-trip digits, camelCase
option names). Objective for every gradient: (y * r).sum() with r stored.
"""

import numpy as np
import torch

from golden_json import f32_short, flat, T, S, write
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

TORCH_VERSION = torch.__version__


# ---------------------------------------------------------------- helpers (as gen_golden.py)

def opt_json(v):
    """Option value as Kiln takes it: an int, a [a, b] pair, or 'same'/'valid'."""
    return list(v) if isinstance(v, tuple) else v


def as_pair(v):
    return tuple(v) if isinstance(v, tuple) else (v, v)


# ---------------------------------------------------------------- conv2d / conv1d

# (N, C, OC, H, W, kernel, stride, padding, dilation, groups, bias)
CONV2D = [
    (1, 1, 1, 5, 5, 3, 1, 0, 1, 1, True),
    (2, 3, 5, 7, 7, 3, 1, 1, 1, 1, True),
    (1, 3, 6, 9, 7, (3, 2), 1, 0, 1, 1, False),              # non-square kernel
    (3, 5, 7, 6, 9, (1, 4), (2, 1), (0, 2), 1, 1, True),      # pairs
    (1, 4, 6, 8, 8, 5, 1, "same", 1, 1, True),
    (2, 3, 3, 7, 5, 4, 1, "same", 1, 1, False),              # even kernel: asymmetric 'same'
    (1, 6, 6, 9, 9, 3, 1, "same", 2, 1, True),                # 'same' with dilation
    (2, 5, 3, 7, 11, (2, 5), 1, "same", (2, 1), 1, True),
    (1, 3, 4, 13, 13, 3, 1, "valid", 1, 1, True),
    (2, 7, 5, 11, 10, 3, (1, 2), "valid", (1, 3), 1, False),
    (1, 6, 4, 9, 9, 3, 2, 1, 1, 2, True),                     # groups 2
    (2, 6, 9, 8, 7, (3, 1), (1, 3), (2, 0), 1, 3, True),      # groups 3
    (1, 5, 5, 9, 9, 3, 1, 1, 1, 5, True),                     # depthwise
    (2, 3, 6, 7, 8, 3, 2, 2, 2, 3, False),                    # depthwise, multiplier 2
    (1, 7, 7, 17, 17, 5, 3, 2, 1, 7, True),                   # depthwise 17x17
    (1, 1, 3, 17, 17, 3, 1, 1, 1, 1, True),
    (3, 2, 2, 1, 1, 1, 1, 0, 1, 1, True),                     # 1x1 input, 1x1 kernel
    (2, 3, 4, 1, 9, (1, 3), 1, (0, 1), 1, 1, True),           # H = 1
    (1, 5, 2, 3, 3, 5, 1, 2, 1, 1, True),                     # kernel larger than the input
    (1, 3, 3, 5, 5, 3, 3, 3, 1, 1, True),                     # windows entirely in padding
    (2, 4, 6, 10, 10, 3, 3, 0, 3, 2, True),
    (1, 6, 3, 12, 5, (4, 2), (2, 3), (1, 1), (2, 2), 3, False),
    (3, 1, 5, 6, 6, 2, 2, 0, 1, 1, True),
    (1, 7, 1, 9, 9, 1, 1, 0, 1, 1, True),                     # 1x1 conv
    (2, 5, 10, 7, 7, (3, 5), 1, (1, 2), 1, 5, True),          # depthwise, multiplier 2
    (1, 3, 7, 15, 13, 3, 2, 1, 1, 1, True),
    (2, 6, 6, 5, 7, (2, 3), (3, 2), (1, 1), (2, 1), 2, True),
    (1, 2, 4, 16, 16, 4, 2, 1, 1, 2, False),
    (3, 3, 3, 4, 4, 3, 1, "same", 3, 3, True),                # depthwise 'same', span 7 > 4
    (1, 5, 5, 11, 7, (5, 1), 1, (2, 0), 1, 1, True),
    (2, 4, 4, 9, 9, 3, 1, (1, 1), (1, 1), 1, True),
    (1, 6, 6, 8, 8, (1, 1), 1, "valid", 1, 6, False),         # depthwise 1x1
]


def random_conv2d(rng, n):
    """Extra configurations drawn at random (valid in PyTorch), from a fixed seed."""
    out = []
    while len(out) < n:
        groups = int(rng.choice([1, 1, 2, 3, 0]))  # 0: depthwise
        cg = int(rng.integers(1, 4))
        if groups == 0:
            C = int(rng.choice([1, 3, 5, 6, 7])); groups = C; OC = C * int(rng.integers(1, 3))
        else:
            C = cg * groups; OC = groups * int(rng.integers(1, 4))
        N = int(rng.integers(1, 4))
        H, W = int(rng.integers(1, 18)), int(rng.integers(1, 18))
        k = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        d = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        kind = rng.integers(0, 4)
        if kind == 0:
            s, p = 1, "same"
        elif kind == 1:
            s, p = (int(rng.integers(1, 4)), int(rng.integers(1, 4))), "valid"
        else:
            s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
            p = (int(rng.integers(0, 3)), int(rng.integers(0, 3)))
        if p != "same":
            ph, pw = (0, 0) if p == "valid" else p
            if d[0] * (k[0] - 1) + 1 > H + 2 * ph or d[1] * (k[1] - 1) + 1 > W + 2 * pw:
                continue
        if N * C * H * W > 1200:
            continue
        out.append((N, C, OC, H, W, k, s, p, d, groups, bool(rng.integers(0, 2))))
    return out


def conv2d_case(i, cfg):
    N, C, OC, H, W, k, s, p, d, g, bias = cfg
    torch.manual_seed(2000 + i)
    kh, kw = as_pair(k)
    conv = nn.Conv2d(C, OC, (kh, kw), stride=s, padding=p, dilation=d, groups=g, bias=bias)
    x = torch.randn(N, C, H, W, requires_grad=True)
    y = conv(x)
    y2 = F.conv2d(x.detach(), conv.weight.detach(), conv.bias.detach() if bias else None,
                  stride=s, padding=p, dilation=d, groups=g)
    assert torch.equal(y, y2)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    name = f"conv2d_{i}_n{N}c{C}o{OC}_{H}x{W}_k{kh}x{kw}_s{opt_json(s)}_p{opt_json(p)}_d{opt_json(d)}_g{g}{'' if bias else '_nobias'}"
    return {
        "name": name.replace(" ", ""),
        "inChannels": C, "outChannels": OC, "kernelSize": [kh, kw],
        "options": {"stride": opt_json(s), "padding": opt_json(p), "dilation": opt_json(d), "groups": g},
        "hasBias": bias,
        "x": T(x), "weight": T(conv.weight), "bias": T(conv.bias) if bias else None,
        "y": T(y), "r": T(r),
        "gradX": T(x.grad), "gradWeight": T(conv.weight.grad),
        "gradBias": T(conv.bias.grad) if bias else None,
    }


# (N, C, OC, L, kernel, stride, padding, dilation, groups, bias)
CONV1D = [
    (2, 3, 5, 11, 3, 1, 1, 1, 1, True),
    (1, 1, 2, 7, 5, 2, 0, 1, 1, False),
    (3, 4, 6, 9, 3, 1, "same", 2, 2, True),
    (1, 6, 6, 13, 4, 3, 2, 1, 6, True),                       # depthwise
    (2, 5, 3, 8, 2, 1, "valid", 3, 1, True),
    (1, 3, 3, 1, 1, 1, 0, 1, 3, True),                        # L = 1
    (2, 7, 7, 17, 5, 2, 2, 2, 7, False),
    (1, 2, 4, 10, 4, 1, "same", 1, 2, True),                  # even kernel 'same'
]


def conv1d_case(i, cfg):
    N, C, OC, L, k, s, p, d, g, bias = cfg
    torch.manual_seed(3000 + i)
    conv = nn.Conv1d(C, OC, k, stride=s, padding=p, dilation=d, groups=g, bias=bias)
    x = torch.randn(N, C, L, requires_grad=True)
    y = conv(x)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    return {
        "name": f"conv1d_{i}_n{N}c{C}o{OC}_L{L}_k{k}_s{s}_p{p}_d{d}_g{g}{'' if bias else '_nobias'}",
        "inChannels": C, "outChannels": OC, "kernelSize": k,
        "options": {"stride": s, "padding": p, "dilation": d, "groups": g},
        "hasBias": bias,
        "x": T(x), "weight": T(conv.weight), "bias": T(conv.bias) if bias else None,
        "y": T(y), "r": T(r),
        "gradX": T(x.grad), "gradWeight": T(conv.weight.grad),
        "gradBias": T(conv.bias.grad) if bias else None,
    }


# (N, C, OC, H, W, kernel, stride, padding, output_padding, dilation, groups, bias)
CONV_T = [
    (1, 1, 1, 4, 4, 3, 1, 0, 0, 1, 1, True),
    (2, 3, 5, 5, 6, 3, 2, 1, 1, 1, 1, True),                 # stride 2 with output_padding
    (1, 4, 6, 7, 5, (3, 2), (2, 3), (1, 0), (1, 2), 1, 2, False),
    (2, 6, 6, 4, 4, 4, 2, 1, 0, 1, 6, True),                  # depthwise upsampling
    (1, 5, 3, 6, 6, 3, 1, 1, 0, 2, 1, True),                  # dilation
    (3, 2, 4, 3, 5, (1, 3), (3, 1), (0, 1), (2, 0), (1, 1), 2, True),
    (1, 3, 2, 9, 9, 5, 3, 2, 1, 1, 1, False),
    (2, 8, 4, 6, 7, 2, 2, 0, 0, 1, 4, True),                  # the DCGAN block shape
    (1, 2, 3, 5, 5, 2, 2, 2, 0, 1, 1, True),                  # padding wider than the kernel: a crop
]


def conv_t_case(i, cfg):
    N, C, OC, H, W, k, s, p, op, d, g, bias = cfg
    torch.manual_seed(4000 + i)
    kh, kw = as_pair(k)
    conv = nn.ConvTranspose2d(C, OC, (kh, kw), stride=s, padding=p, output_padding=op, dilation=d, groups=g, bias=bias)
    x = torch.randn(N, C, H, W, requires_grad=True)
    y = conv(x)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    return {
        "name": f"convT_{i}_n{N}c{C}o{OC}_{H}x{W}_k{kh}x{kw}_s{opt_json(s)}_p{opt_json(p)}_op{opt_json(op)}_d{opt_json(d)}_g{g}{'' if bias else '_nobias'}".replace(" ", ""),
        "inChannels": C, "outChannels": OC, "kernelSize": [kh, kw],
        "options": {"stride": opt_json(s), "padding": opt_json(p), "outputPadding": opt_json(op), "dilation": opt_json(d), "groups": g},
        "hasBias": bias,
        "x": T(x), "weight": T(conv.weight), "bias": T(conv.bias) if bias else None,
        "y": T(y), "r": T(r),
        "gradX": T(x.grad), "gradWeight": T(conv.weight.grad),
        "gradBias": T(conv.bias.grad) if bias else None,
    }


def gen_conv():
    rng = np.random.default_rng(7)
    cfgs = CONV2D + random_conv2d(rng, 8)
    write("conv.json", {
        "torchVersion": TORCH_VERSION,
        "description": "y = conv2d/conv1d(x, weight, bias, **options); grads are of (y * r).sum()",
        "conv2d": [conv2d_case(i, c) for i, c in enumerate(cfgs)],
        "conv1d": [conv1d_case(i, c) for i, c in enumerate(CONV1D)],
        "convTranspose2d": [conv_t_case(i, c) for i, c in enumerate(CONV_T)],
    })


# ---------------------------------------------------------------- pooling

def distinct(shape, seed):
    """A random permutation of distinct float32 values (steps of 1/8): no ties, unique argmax."""
    g = torch.Generator().manual_seed(seed)
    n = int(np.prod(shape))
    return ((torch.randperm(n, generator=g).float() - n / 2) / 8).reshape(shape)


def pool_case(kind, name, x, fn, options, seed):
    torch.manual_seed(seed)
    x = x.clone().requires_grad_(True)
    y = fn(x)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    return {"name": name, "kind": kind, "options": options, "x": T(x), "y": T(y), "r": T(r), "gradX": T(x.grad)}


# (N, C, H, W, kernel, stride, padding, dilation, ceilMode)
MAXPOOL = [
    (1, 1, 4, 4, 2, None, 0, 1, False),
    (2, 3, 7, 7, 3, 2, 1, 1, False),
    (1, 2, 7, 7, 3, 2, 1, 1, True),
    (1, 3, 9, 8, (3, 2), (2, 1), (1, 0), 1, False),
    (2, 2, 11, 11, 3, 3, 1, 2, True),
    (1, 5, 6, 9, 2, None, 0, (2, 1), True),
    (3, 1, 5, 5, 5, 1, 2, 1, False),
    (1, 3, 8, 8, 4, 3, 2, 1, True),
    (1, 2, 13, 10, (2, 3), (3, 2), (1, 1), (1, 2), False),
    (1, 1, 1, 1, 1, None, 0, 1, False),
    (2, 3, 10, 10, 3, 2, 0, 1, True),                         # ceil adds a partial window
    (1, 2, 6, 6, 2, 1, 1, 1, False),                          # overlapping windows, stride 1
]

# (N, C, H, W, kernel, stride, padding, ceilMode, countIncludePad, divisorOverride)
AVGPOOL = [
    (1, 1, 4, 4, 2, None, 0, False, True, None),
    (2, 3, 7, 7, 3, 2, 1, False, True, None),
    (2, 3, 7, 7, 3, 2, 1, False, False, None),
    (1, 2, 7, 7, 3, 2, 1, True, True, None),
    (1, 2, 7, 7, 3, 2, 1, True, False, None),
    (1, 3, 8, 9, (3, 2), (2, 3), (1, 1), True, True, None),
    (2, 2, 9, 9, 4, 3, 2, True, False, None),
    (1, 2, 6, 6, 3, 2, 1, False, True, 5),
    (1, 2, 7, 5, 2, None, 1, True, True, 3),
    (3, 1, 5, 11, (1, 3), (1, 2), (0, 1), False, False, None),
    (1, 4, 10, 10, 5, 5, 2, True, True, None),
    (2, 3, 10, 10, 3, 2, 0, True, True, None),                # ceil: window past the end, no padding
]

# (N, C, H, W, outputSize)
ADAPTIVE = [
    (2, 3, 8, 8, 4),                                          # divides
    (1, 2, 7, 7, 3),                                          # does not divide
    (1, 3, 9, 10, (4, 3)),
    (2, 2, 5, 5, 1),                                          # global average
    (1, 1, 3, 4, (5, 6)),                                     # output larger than input
    (1, 4, 17, 13, (5, 7)),
    (3, 2, 6, 6, 6),                                          # identity
    (1, 3, 12, 9, (6, 3)),                                    # divides, non-square
]


def gen_pool():
    maxp, avgp, adp = [], [], []
    for i, (N, C, H, W, k, s, p, d, ceil) in enumerate(MAXPOOL):
        x = distinct((N, C, H, W), 4000 + i)
        fn = lambda t, k=k, s=s, p=p, d=d, ceil=ceil: F.max_pool2d(t, k, s, p, d, ceil_mode=ceil)
        opts = {"stride": opt_json(s), "padding": opt_json(p), "dilation": opt_json(d), "ceilMode": ceil}
        c = pool_case("maxPool2d", f"maxPool2d_{i}_{N}x{C}x{H}x{W}_k{opt_json(k)}_s{opt_json(s)}_p{opt_json(p)}_d{opt_json(d)}{'_ceil' if ceil else ''}".replace(" ", ""), x, fn, opts, 4100 + i)
        c["kernelSize"] = opt_json(k)
        maxp.append(c)
    for i, (N, C, H, W, k, s, p, ceil, cip, div) in enumerate(AVGPOOL):
        torch.manual_seed(5000 + i)
        x = torch.randn(N, C, H, W)
        fn = lambda t, k=k, s=s, p=p, ceil=ceil, cip=cip, div=div: F.avg_pool2d(t, k, s, p, ceil_mode=ceil, count_include_pad=cip, divisor_override=div)
        opts = {"stride": opt_json(s), "padding": opt_json(p), "ceilMode": ceil, "countIncludePad": cip}
        if div is not None:
            opts["divisorOverride"] = div
        c = pool_case("avgPool2d", f"avgPool2d_{i}_{N}x{C}x{H}x{W}_k{opt_json(k)}_s{opt_json(s)}_p{opt_json(p)}{'_ceil' if ceil else ''}{'' if cip else '_excludePad'}{'' if div is None else f'_div{div}'}".replace(" ", ""), x, fn, opts, 5100 + i)
        c["kernelSize"] = opt_json(k)
        avgp.append(c)
    for i, (N, C, H, W, o) in enumerate(ADAPTIVE):
        torch.manual_seed(6000 + i)
        x = torch.randn(N, C, H, W)
        fn = lambda t, o=o: F.adaptive_avg_pool2d(t, o)
        c = pool_case("adaptiveAvgPool2d", f"adaptiveAvgPool2d_{i}_{N}x{C}x{H}x{W}_to{opt_json(o)}".replace(" ", ""), x, fn, {}, 6100 + i)
        c["outputSize"] = opt_json(o)
        adp.append(c)
    write("conv_pool.json", {
        "torchVersion": TORCH_VERSION,
        "description": "y = pool(x, kernelSize / outputSize, **options); gradX is of (y * r).sum(). "
                       "maxPool2d inputs are distinct values (a permutation of multiples of 1/8), so every argmax is unique",
        "maxPool2d": maxp, "avgPool2d": avgp, "adaptiveAvgPool2d": adp,
    })


# ---------------------------------------------------------------- small CNN, 5 SGD steps

def gen_cnn():
    torch.manual_seed(7000)
    model = nn.Sequential(
        nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(5, 6, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
        nn.Flatten(), nn.Linear(24, 4),
    )
    init = {k: T(v) for k, v in model.state_dict().items()}
    x = torch.randn(6, 3, 11, 11)
    y = torch.randint(0, 4, (6,))
    options = {"lr": 0.1, "momentum": 0.9}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    steps = []
    for _ in range(5):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        steps.append({"loss": S(loss), "params": {k: T(v) for k, v in model.state_dict().items()}})
    write("conv_cnn.json", {
        "torchVersion": TORCH_VERSION,
        "description": "Sequential(Conv2d(3,5,3,padding=1), ReLU, MaxPool2d(2), Conv2d(5,6,3), ReLU, "
                       "AdaptiveAvgPool2d(2), Flatten, Linear(24,4)); cross-entropy; SGD; steps[i].loss is "
                       "the loss before step i, steps[i].params the parameters after it",
        "init": init, "x": T(x), "y": T(y), "optimizer": "SGD", "options": options, "steps": steps,
    })


if __name__ == "__main__":
    gen_conv()
    gen_pool()
    gen_cnn()
