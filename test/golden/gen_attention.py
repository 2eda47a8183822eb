#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's scaled dot-product attention (test/attention.test.ts).

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_attention.py
Writes attention.json next to this file. Deterministic: a fixed seed, one CPU thread,
compact JSON with a fixed key order (see README.md in this folder for the conventions).

torch 1.13 has no F.scaled_dot_product_attention (it arrived in 2.0), so `sdpa` below is the
reference implementation PyTorch 2 documents for it: scores = q @ k^T * scale, a bool mask
fills -inf where it is False, a float mask is added, is_causal keeps keys j <= i (top-left
aligned, a torch.ones(L, S).tril()), then softmax and @ v. It runs in float64 on the float32
inputs, so the expected values carry no float32 rounding of their own.
A float mask's -inf entries are written as null.
Every gradient is of loss = (out * r).sum() with a random r stored in the case; q, k, v and r
are float32, the outputs and gradients are float64 rounded to float32.
Cases: sequence lengths 1, 7, 13 and 127, L != S both ways, head dims 8, 16 and 64, Ev != E,
batch dims broadcast between q, k and v, bool and float masks broadcast over the batch, a
given scale, is_causal.
"""

import math

import torch

from golden_json import T, write

torch.set_num_threads(1)
torch.manual_seed(0)


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    L, S = q.shape[-2], k.shape[-2]
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ k.transpose(-2, -1) * scale
    if is_causal:
        attn_mask = torch.ones(L, S, dtype=torch.bool).tril()
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            scores = scores + attn_mask
    return torch.softmax(scores, dim=-1) @ v


def case(name, q_shape, k_shape, v_shape, mask=None, is_causal=False, scale=None):
    q, k, v = torch.randn(q_shape), torch.randn(k_shape), torch.randn(v_shape)
    leaves = [t.double().requires_grad_(True) for t in (q, k, v)]
    m = mask.double() if mask is not None and mask.dtype != torch.bool else mask
    out = sdpa(*leaves, attn_mask=m, is_causal=is_causal, scale=scale)
    r = torch.randn(out.shape)
    (out * r.double()).sum().backward()
    f = lambda t: T(t.float())
    return {"name": name, "isCausal": is_causal, "scale": scale, "q": T(q), "k": T(k), "v": T(v),
            "mask": mask_json(mask), "r": T(r),
            "out": f(out), "dq": f(leaves[0].grad), "dk": f(leaves[1].grad), "dv": f(leaves[2].grad)}


def mask_json(mask):
    """A mask as T() writes it, with -inf (which JSON cannot hold) written as null."""
    if mask is None:
        return None
    finite = mask.masked_fill(mask == float("-inf"), 0.0) if mask.dtype != torch.bool else mask
    j = T(finite)
    if mask.dtype != torch.bool:
        j["data"] = [None if x == float("-inf") else y for x, y in zip(mask.reshape(-1).tolist(), j["data"])]
    return j


def float_mask(shape, p_inf=0.2):
    """Random additive mask with about p_inf of the entries -inf (never a whole row)."""
    m = torch.randn(shape)
    m[torch.rand(shape) < p_inf] = float("-inf")
    m[..., 0] = 0.0
    return m


cases = [
    case("seq 1", [1, 8], [1, 8], [1, 8]),
    case("seq 7, batch [2, 3]", [2, 3, 7, 8], [2, 3, 7, 8], [2, 3, 7, 8]),
    case("L 7 < S 13, causal, E 16", [2, 7, 16], [2, 13, 16], [2, 13, 16], is_causal=True),
    case("L 13 > S 7, causal, E 16, Ev 8", [2, 13, 16], [2, 7, 16], [2, 7, 8], is_causal=True),
    case("bool mask [7, 13] over batch [2, 2]", [2, 2, 7, 16], [2, 2, 13, 16], [2, 2, 13, 16],
         mask=torch.rand(7, 13) < 0.7),
    case("float mask [2, 1, 7, 13] with -inf, scale 0.3", [2, 3, 7, 8], [2, 3, 13, 8], [2, 3, 13, 4],
         mask=float_mask([2, 1, 7, 13]), scale=0.3),
    case("batch broadcast: q [2, 3, ...], k [3, ...], v [1, 3, ...]", [2, 3, 7, 8], [3, 13, 8], [1, 3, 13, 8]),
    case("bool mask [13] over keys, L 7 S 13", [3, 7, 16], [3, 13, 16], [3, 13, 16], mask=torch.rand(13) < 0.6),
    case("seq 127, E 16, causal", [1, 127, 16], [1, 127, 16], [1, 127, 16], is_causal=True),
    case("seq 127 x 61, E 8, float mask [127, 61]", [127, 8], [61, 8], [61, 8], mask=float_mask([127, 61], 0.1)),
    case("seq 33, E 64", [1, 33, 64], [1, 33, 64], [1, 33, 64]),
]

write("attention.json", {"cases": cases})
