#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's embeddings (test/embedding.test.ts).

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_embedding.py
Writes embedding.json next to this file. Deterministic: a fixed seed, one CPU thread,
compact JSON with a fixed key order (see README.md in this folder for the conventions).

Indices are int64 in PyTorch and int32 in Kiln (written as plain integers).
Every gradient is of loss = (y * r).sum() with a random r stored in the case.
  lookup   F.embedding forward and weight gradient: index shapes [5], [2, 3], [2, 2, 3],
           repeated indices, with and without padding_idx (also negative)
  maxNorm  nn.Embedding(max_norm=...): output, the weight after the forward (looked-up rows
           renormalised in place, the others untouched) and the weight gradient
  maxNormStep  two SGD steps of a max_norm Embedding (renormalised by each forward)
  step     Embedding(20, 8, padding_idx=0) + Linear(8, 5), cross-entropy, one SGD(lr=0.1) step
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_json import T, S, write

torch.set_num_threads(1)
torch.manual_seed(0)


def idx(shape, V, extra=()):
    """Random indices of the shape with at least one repeat and the given values forced in."""
    t = torch.randint(0, V, shape).reshape(-1)
    t[0] = t[-1]  # a repeat
    for k, v in enumerate(extra):
        t[1 + k] = v
    return t.reshape(shape)


def lookup_case(V, D, shape, padding_idx):
    w = torch.randn(V, D)
    pad = None if padding_idx is None else (padding_idx % V)
    i = idx(shape, V, () if pad is None else (pad, pad))
    r = torch.randn(*shape, D)
    wp = w.clone().requires_grad_(True)
    y = F.embedding(i, wp, padding_idx=padding_idx)
    (y * r).sum().backward()
    return {"V": V, "D": D, "paddingIdx": padding_idx, "weight": T(w), "indices": T(i), "r": T(r),
            "y": T(y), "gradWeight": T(wp.grad)}


def maxnorm_case(V, D, shape, max_norm, norm_type):
    m = nn.Embedding(V, D, max_norm=max_norm, norm_type=norm_type)
    with torch.no_grad():
        m.weight.mul_(2.0)  # most rows above max_norm
    w0 = m.weight.detach().clone()
    i = idx(shape, V)
    r = torch.randn(*shape, D)
    y = m(i)
    (y * r).sum().backward()
    return {"V": V, "D": D, "maxNorm": max_norm, "normType": norm_type, "weight": T(w0), "indices": T(i),
            "r": T(r), "y": T(y), "weightAfter": T(m.weight), "gradWeight": T(m.weight.grad)}


def step_case():
    emb = nn.Embedding(20, 8, padding_idx=0)
    lin = nn.Linear(8, 5)
    i = idx((4, 6), 20, (0, 0, 0))
    target = torch.randint(0, 5, (24,))
    sd0 = {"emb.weight": T(emb.weight), "lin.weight": T(lin.weight), "lin.bias": T(lin.bias)}
    opt = torch.optim.SGD(list(emb.parameters()) + list(lin.parameters()), lr=0.1)
    opt.zero_grad()
    loss = F.cross_entropy(lin(emb(i)).reshape(-1, 5), target)
    loss.backward()
    opt.step()
    return {"indices": T(i), "target": T(target), "before": sd0, "loss": S(loss),
            "after": {"emb.weight": T(emb.weight), "lin.weight": T(lin.weight), "lin.bias": T(lin.bias)}}


def maxnorm_step_case():
    """Embedding(10, 4, max_norm=1.0) * r summed, two SGD(lr=0.5) steps: renorm, step, renorm, step."""
    m = nn.Embedding(10, 4, max_norm=1.0)
    with torch.no_grad():
        m.weight.mul_(1.5)
    w0 = m.weight.detach().clone()
    i = idx((2, 4), 10)
    r = torch.randn(2, 4, 4) * 3
    opt = torch.optim.SGD(m.parameters(), lr=0.5)
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = (m(i) * r).sum()
        loss.backward()
        opt.step()
        losses.append(S(loss))
    return {"weight": T(w0), "indices": T(i), "r": T(r), "losses": losses, "weightAfter": T(m.weight)}


out = {
    "torch": torch.__version__,
    "lookup": [
        lookup_case(10, 4, (5,), None),
        lookup_case(10, 4, (2, 3), None),
        lookup_case(7, 3, (2, 2, 3), None),
        lookup_case(10, 4, (5,), 3),
        lookup_case(10, 4, (2, 3), 0),
        lookup_case(7, 3, (2, 2, 3), -1),
    ],
    "maxNorm": [
        maxnorm_case(8, 5, (6,), 1.5, 2.0),
        maxnorm_case(8, 5, (2, 3), 1.0, 1.0),
    ],
    "step": step_case(),
    "maxNormStep": maxnorm_step_case(),
}
write("embedding.json", out)
