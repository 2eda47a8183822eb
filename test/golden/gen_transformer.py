#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's attention and Transformer layers
(test/transformer.test.ts).

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_transformer.py
Writes transformer.json next to this file. Deterministic: a fixed seed per case, one CPU
thread, compact JSON with a fixed key order. Conventions: see README.md in this folder.

Every case is a module in float32 with its own seeded initialisation, stored as its
state_dict (moved off its initial values by 0.1 * randn), in training mode with dropout 0 (so the autograd path, not the inference fast
path, runs). Gradients are of
    loss = (out * r).sum() [+ (weights * r2).sum() when MultiheadAttention returns weights]
with random r, r2 stored in the case: of every parameter (keyed as the state dict) and of
every input tensor. outErrF64 / gradErrF64: the largest |float32 - float64| of PyTorch's own
float32 results against the same computation in float64.

Masks are {"dtype": "bool" | "float32", "shape", "data"}; bool true = not allowed (MHA's
convention); float masks are added to the scores. "causal" stands for
nn.Transformer.generate_square_subsequent_mask(L) (float, -inf above the diagonal), which
JSON cannot hold.
"""

import torch
import torch.nn as nn

from golden_json import T, write

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

E, H, FF = 8, 2, 16  # shared sizes, so the cases share compiled kernels


def mask_json(m):
    if m is None:
        return None
    if isinstance(m, str):
        return m
    if m.dtype == torch.bool:
        return {"dtype": "bool", "shape": list(m.shape), "data": [bool(v) for v in m.reshape(-1).tolist()]}
    return {"dtype": "float32", **T(m)}


def real_mask(m, x, batch_first):
    """The tensor a mask entry stands for, for the sequence x (float masks in x's dtype)."""
    if isinstance(m, str):
        assert m == "causal"
        L = x.shape[0] if x.dim() == 2 else x.shape[1 if batch_first else 0]
        return nn.Transformer.generate_square_subsequent_mask(L).to(x.dtype)
    return m


def bool_mask(shape, p=0.3):
    """Random bool mask (true = not allowed) that leaves at least one key per row."""
    m = torch.rand(*shape) < p
    m[..., 0] = False
    return m


# ------------------------------------------------------------------ cases
# Each builder returns (module, kiln constructor description, inputs, call) where call(m, ins)
# returns (out, weights or None) and inputs is an ordered dict of tensors that get gradients.

def mha_case(kw, q_shape, k_shape=None, v_shape=None, self_attn=False, fwd=None):
    fwd = dict(fwd or {})

    def build():
        m = nn.MultiheadAttention(E, H, **kw)
        q = torch.randn(*q_shape)
        ins = {"query": q} if self_attn else {"query": q, "key": torch.randn(*k_shape), "value": torch.randn(*v_shape)}
        masks = {k: v for k, v in fwd.items() if k in ("key_padding_mask", "attn_mask")}
        return m, ins, masks

    def call(m, ins, masks):
        q = ins["query"]
        k, v = (q, q) if self_attn else (ins["key"], ins["value"])
        return m(q, k, v, key_padding_mask=masks.get("key_padding_mask"), attn_mask=masks.get("attn_mask"),
                 need_weights=fwd.get("need_weights", True), average_attn_weights=fwd.get("average_attn_weights", True))

    opts = {"dropout": 0, "bias": kw.get("bias", True), "batchFirst": kw.get("batch_first", False)}
    if "kdim" in kw:
        opts["kdim"] = kw["kdim"]
    if "vdim" in kw:
        opts["vdim"] = kw["vdim"]
    if kw.get("add_bias_kv"):
        opts["addBiasKv"] = True
    if kw.get("add_zero_attn"):
        opts["addZeroAttn"] = True
    fopts = {"needWeights": fwd.get("need_weights", True), "averageAttnWeights": fwd.get("average_attn_weights", True)}
    return {"module": "MultiheadAttention", "args": [E, H], "options": opts, "forward": fopts, "selfAttn": self_attn}, build, call


def layer_options(kw):
    o = {"dimFeedforward": FF, "dropout": 0, "activation": kw.get("activation", "relu"),
         "layerNormEps": kw.get("layer_norm_eps", 1e-5), "batchFirst": kw.get("batch_first", False),
         "normFirst": kw.get("norm_first", False)}
    return o


def encoder_layer_case(kw, src_shape, masks=None):
    masks = dict(masks or {})

    def build():
        m = nn.TransformerEncoderLayer(E, H, dim_feedforward=FF, dropout=0.0, **kw)
        return m, {"src": torch.randn(*src_shape)}, masks

    def call(m, ins, mk):
        return m(ins["src"], src_mask=real_mask(mk.get("src_mask"), ins["src"], kw.get("batch_first")), src_key_padding_mask=mk.get("src_key_padding_mask")), None

    return {"module": "TransformerEncoderLayer", "args": [E, H], "options": layer_options(kw)}, build, call


def decoder_layer_case(kw, tgt_shape, mem_shape, masks=None):
    masks = dict(masks or {})

    def build():
        m = nn.TransformerDecoderLayer(E, H, dim_feedforward=FF, dropout=0.0, **kw)
        return m, {"tgt": torch.randn(*tgt_shape), "memory": torch.randn(*mem_shape)}, masks

    def call(m, ins, mk):
        return m(ins["tgt"], ins["memory"], tgt_mask=real_mask(mk.get("tgt_mask"), ins["tgt"], kw.get("batch_first")), memory_mask=mk.get("memory_mask"),
                 tgt_key_padding_mask=mk.get("tgt_key_padding_mask"), memory_key_padding_mask=mk.get("memory_key_padding_mask")), None

    return {"module": "TransformerDecoderLayer", "args": [E, H], "options": layer_options(kw)}, build, call


def encoder_case(kw, num_layers, src_shape, masks=None):
    masks = dict(masks or {})

    def build():
        layer = nn.TransformerEncoderLayer(E, H, dim_feedforward=FF, dropout=0.0, **kw)
        m = nn.TransformerEncoder(layer, num_layers, norm=nn.LayerNorm(E))
        return m, {"src": torch.randn(*src_shape)}, masks

    def call(m, ins, mk):
        return m(ins["src"], mask=mk.get("mask"), src_key_padding_mask=mk.get("src_key_padding_mask")), None

    return {"module": "TransformerEncoder", "args": [E, H], "numLayers": num_layers, "options": layer_options(kw)}, build, call


def transformer_case(kw, src_shape, tgt_shape, masks=None):
    masks = dict(masks or {})

    def build():
        m = nn.Transformer(E, H, dim_feedforward=FF, dropout=0.0, **kw)
        return m, {"src": torch.randn(*src_shape), "tgt": torch.randn(*tgt_shape)}, masks

    def call(m, ins, mk):
        return m(ins["src"], ins["tgt"], src_mask=mk.get("src_mask"), tgt_mask=real_mask(mk.get("tgt_mask"), ins["tgt"], kw.get("batch_first")),
                 memory_mask=mk.get("memory_mask"), src_key_padding_mask=mk.get("src_key_padding_mask"),
                 tgt_key_padding_mask=mk.get("tgt_key_padding_mask"),
                 memory_key_padding_mask=mk.get("memory_key_padding_mask")), None

    o = layer_options(kw)
    o.update({"dModel": E, "nhead": H, "numEncoderLayers": kw["num_encoder_layers"], "numDecoderLayers": kw["num_decoder_layers"]})
    return {"module": "Transformer", "args": [], "options": o}, build, call


def cases():
    """(name, seed-dependent spec) in a fixed order; masks are drawn after the seed is set."""
    N, L, S = 2, 3, 5
    return [
        ("mha_self_seqfirst", lambda: mha_case({}, (4, N, E), self_attn=True)),
        ("mha_batchfirst_cross_noweights", lambda: mha_case({"batch_first": True}, (N, L, E), (N, S, E), (N, S, E), fwd={"need_weights": False})),
        ("mha_kdim_vdim_perhead", lambda: mha_case({"kdim": 6, "vdim": 5}, (L, N, E), (S, N, 6), (S, N, 5), fwd={"average_attn_weights": False})),
        ("mha_key_padding_bool", lambda: mha_case({}, (L, N, E), (S, N, E), (S, N, E), fwd={"key_padding_mask": bool_mask((N, S))})),
        ("mha_attn_bool_2d_kpm_noweights", lambda: mha_case({"batch_first": True}, (N, L, E), (N, S, E), (N, S, E),
                                                             fwd={"attn_mask": bool_mask((L, S)), "key_padding_mask": bool_mask((N, S)), "need_weights": False})),
        ("mha_attn_float_3d_perhead", lambda: mha_case({}, (L, N, E), (S, N, E), (S, N, E),
                                                       fwd={"attn_mask": torch.randn(N * H, L, S), "average_attn_weights": False})),
        ("mha_attn_bool_float_kpm", lambda: mha_case({}, (L, N, E), (S, N, E), (S, N, E),
                                                     fwd={"attn_mask": torch.randn(L, S), "key_padding_mask": bool_mask((N, S))})),
        ("mha_float_kpm_nobias", lambda: mha_case({"bias": False}, (L, N, E), (S, N, E), (S, N, E), fwd={"key_padding_mask": torch.randn(N, S)})),
        ("mha_unbatched_mask3d", lambda: mha_case({}, (L, E), (S, E), (S, E), fwd={"attn_mask": bool_mask((H, L, S)), "key_padding_mask": bool_mask((S,))})),
        ("mha_unbatched_self_perhead", lambda: mha_case({}, (4, E), self_attn=True, fwd={"average_attn_weights": False})),
        # the layer cases share shapes and masks with transformer_small's layers (src 5, tgt 3):
        # compiled kernels are reused, which keeps the test fast on software WebGPU
        ("encoder_layer_postnorm_relu", lambda: encoder_layer_case({}, (S, N, E), {"src_key_padding_mask": bool_mask((N, S))})),
        ("encoder_layer_prenorm_gelu_batchfirst_causal", lambda: encoder_layer_case({"norm_first": True, "activation": "gelu", "batch_first": True}, (N, 4, E),
                                                                                    {"src_mask": "causal", "src_key_padding_mask": bool_mask((N, 4))})),
        ("decoder_layer_causal", lambda: decoder_layer_case({}, (L, N, E), (S, N, E), {"tgt_mask": "causal", "memory_key_padding_mask": bool_mask((N, S))})),
        ("decoder_layer_prenorm_batchfirst", lambda: decoder_layer_case({"norm_first": True, "batch_first": True}, (N, L, E), (N, S, E),
                                                                        {"tgt_mask": "causal", "memory_mask": bool_mask((L, S))})),
        ("encoder_2layer_norm", lambda: encoder_case({}, 2, (S, N, E), {"src_key_padding_mask": bool_mask((N, S))})),
        ("transformer_small", lambda: transformer_case({"num_encoder_layers": 2, "num_decoder_layers": 2}, (S, N, E), (L, N, E),
                                                       {"tgt_mask": "causal", "src_key_padding_mask": bool_mask((N, S)),
                                                        "memory_key_padding_mask": bool_mask((N, S))})),
        # appended last, so the seeds (2000 + index) of the cases above stay as they were
        ("mha_bias_kv_zero_attn_masks", lambda: mha_case({"add_bias_kv": True, "add_zero_attn": True}, (L, N, E), (S, N, E), (S, N, E),
                                                         fwd={"attn_mask": torch.randn(L, S), "key_padding_mask": bool_mask((N, S))})),
        ("mha_bias_kv_batchfirst_noweights", lambda: mha_case({"add_bias_kv": True, "batch_first": True}, (N, L, E), (N, S, E), (N, S, E),
                                                              fwd={"attn_mask": bool_mask((L, S)), "need_weights": False})),
        ("mha_zero_attn_unbatched_self", lambda: mha_case({"add_zero_attn": True}, (4, E), self_attn=True)),
    ]


def run(m, call, ins, masks, r, r2):
    m.zero_grad()
    ins = {k: v.clone().requires_grad_(True) for k, v in ins.items()}
    out, w = call(m, ins, masks)
    loss = (out * r).sum()
    if w is not None:
        loss = loss + (w * r2).sum()
    loss.backward()
    grads = {k: p.grad.clone() for k, p in m.named_parameters()}
    return out, w, {k: v.grad for k, v in ins.items()}, grads


def maxerr(a, b):
    return 0.0 if a is None else float((a.double() - b).abs().max())


def make_case(i, name, spec):
    torch.manual_seed(2000 + i)
    desc, build, call = spec()
    m, ins, masks = build()
    # zero biases, unit norms and equal clones (TransformerEncoder's deepcopy) would hide
    # mix-ups: every parameter is moved off its initial value
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn(p.shape))
    m.train()
    with torch.no_grad():
        o0, w0 = call(m, ins, masks)
    r = torch.randn(*o0.shape)
    r2 = torch.randn(*w0.shape) if w0 is not None else None
    out, w, gin, grads = run(m, call, ins, masks, r, r2)
    # the same in float64, for the float32 error scale
    m64 = __import__("copy").deepcopy(m).double()
    d = lambda t: t.double() if isinstance(t, torch.Tensor) and t.dtype == torch.float32 else t
    o64, w64, gin64, g64 = run(m64, call, {k: d(v) for k, v in ins.items()}, {k: d(v) for k, v in masks.items()}, d(r), d(r2))
    out_err = max(maxerr(out, o64), maxerr(w, w64))
    grad_err = max([maxerr(gin[k], gin64[k]) for k in gin] + [maxerr(grads[k], g64[k]) for k in grads])
    return {
        "name": name, **desc,
        "params": {k: T(v) for k, v in m.state_dict().items()},
        "inputs": {k: T(v) for k, v in ins.items()},
        "masks": {k: mask_json(v) for k, v in masks.items()},
        "r": T(r), "r2": T(r2),
        "out": T(out), "weights": T(w),
        "gradInputs": {k: T(v) for k, v in gin.items()},
        "grads": {k: T(v) for k, v in grads.items()},
        "outErrF64": out_err, "gradErrF64": grad_err,
    }


def main():
    write("transformer.json", {
        "torchVersion": torch.__version__,
        "description": "nn.MultiheadAttention / TransformerEncoderLayer / TransformerDecoderLayer / TransformerEncoder / "
                       "Transformer outputs, attention weights and gradients of (out*r).sum() [+ (weights*r2).sum()]",
        "cases": [make_case(i, name, spec) for i, (name, spec) in enumerate(cases())],
    })


if __name__ == "__main__":
    main()
