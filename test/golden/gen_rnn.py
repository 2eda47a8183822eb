#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's recurrent layers (test/rnn.test.ts).

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_rnn.py
Writes rnn.json next to this file. Deterministic: a fixed seed per case, one CPU thread,
compact JSON with a fixed key order; running it twice gives byte-identical output.
Conventions (tensor encoding, shortest float32 digits): see README.md in this folder.

cases: torch.nn.RNN / LSTM / GRU in float32 with the module's own (seeded) initialisation,
stored as its state_dict. Every gradient is of
    loss = (out * r).sum() + (h_n * r2).sum() [+ (c_n * r3).sum() for LSTM]
with random r, r2, r3 stored in the case; gradients of every parameter (keyed as the state
dict), of the input x and of the initial states h0 (and c0) when given.
outErrF64 / gradErrF64: the largest |float32 - float64| of PyTorch's own float32 results
against the same computation in float64 (the float32 error scale of the case).

lstmStep: an LSTM classifier (LSTM(batch_first) -> last step -> Linear) trained with SGD
(momentum) on cross-entropy; the loss before each step and the parameters after it.
"""

import torch
import torch.nn as nn

from golden_json import T, S, write

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

CASES = [
    # name, module, kwargs, inputSize, hiddenSize, seq, batch (None: unbatched), initial state.
    # Most cases share inputSize 4, hiddenSize 5, batch 2, so they share compiled kernels.
    ("rnn_tanh_1layer_seq7", "RNN", {}, 4, 5, 7, 2, False),
    ("lstm_2layer_bidir_batchfirst", "LSTM", {"num_layers": 2, "bidirectional": True, "batch_first": True}, 4, 5, 3, 2, False),
    ("lstm_h0c0_seq7", "LSTM", {}, 4, 5, 7, 2, True),
    ("gru_2layer_h0", "GRU", {"num_layers": 2}, 4, 5, 3, 2, True),
    ("rnn_relu_2layer_bidir_h0", "RNN", {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True}, 4, 5, 2, 2, True),
    ("lstm_seq1_bidir_h0c0", "LSTM", {"bidirectional": True}, 4, 5, 1, 2, True),
    ("gru_seq1", "GRU", {}, 3, 7, 1, 3, False),
    ("rnn_tanh_nobias_batchfirst_h0", "RNN", {"bias": False, "batch_first": True}, 4, 3, 4, 2, True),
    ("gru_bidir_batchfirst_nobias_h0", "GRU", {"bidirectional": True, "batch_first": True, "bias": False}, 4, 5, 2, 2, True),
    ("lstm_unbatched_2layer_h0c0", "LSTM", {"num_layers": 2}, 4, 6, 2, None, True),
    ("lstm_proj_2layer_bidir_h0c0", "LSTM", {"num_layers": 2, "bidirectional": True, "proj_size": 3}, 4, 5, 3, 2, True),
    ("gru_unbatched_seq7", "GRU", {}, 4, 5, 7, None, False),
]


def run_case(m, x, h0, c0, r, r2, r3):
    """out, h_n, c_n and gradients of the objective."""
    m.zero_grad()
    x = x.clone().requires_grad_(True)
    h0 = h0.clone().requires_grad_(True) if h0 is not None else None
    c0 = c0.clone().requires_grad_(True) if c0 is not None else None
    if isinstance(m, nn.LSTM):
        out, (hn, cn) = m(x, (h0, c0) if h0 is not None else None)
    else:
        out, hn = m(x, h0)
        cn = None
    loss = (out * r).sum() + (hn * r2).sum()
    if cn is not None:
        loss = loss + (cn * r3).sum()
    loss.backward()
    grads = {k: p.grad.clone() for k, p in m.named_parameters()}
    return out, hn, cn, x.grad, (h0.grad if h0 is not None else None), (c0.grad if c0 is not None else None), grads


def maxerr(a, b):
    return 0.0 if a is None else float((a.double() - b).abs().max())


def make_case(i, name, kind, kw, inp, hid, seq, batch, init):
    torch.manual_seed(1000 + i)
    m = getattr(nn, kind)(inp, hid, **kw)
    bf = kw.get("batch_first", False)
    D = 2 if kw.get("bidirectional", False) else 1
    L = kw.get("num_layers", 1)
    hout = kw.get("proj_size", 0) or hid
    if batch is None:
        x = torch.randn(seq, inp)
        hshape, cshape = [L * D, hout], [L * D, hid]
        oshape = [seq, D * hout]
    else:
        x = torch.randn(batch, seq, inp) if bf else torch.randn(seq, batch, inp)
        hshape, cshape = [L * D, batch, hout], [L * D, batch, hid]
        oshape = [batch, seq, D * hout] if bf else [seq, batch, D * hout]
    h0 = torch.randn(*hshape) * 0.5 if init else None
    c0 = torch.randn(*cshape) * 0.5 if init and kind == "LSTM" else None
    r = torch.randn(*oshape)
    r2 = torch.randn(*hshape)
    r3 = torch.randn(*cshape) if kind == "LSTM" else None
    out, hn, cn, gx, gh, gc, grads = run_case(m, x, h0, c0, r, r2, r3)
    # the same in float64, for the float32 error scale
    m64 = getattr(nn, kind)(inp, hid, **kw).double()
    m64.load_state_dict({k: v.double() for k, v in m.state_dict().items()})
    d = lambda t: None if t is None else t.double()
    o64, h64, c64, gx64, gh64, gc64, g64 = run_case(m64, d(x), d(h0), d(c0), d(r), d(r2), d(r3))
    out_err = max(maxerr(out, o64), maxerr(hn, h64), maxerr(cn, c64))
    grad_err = max([maxerr(gx, gx64), maxerr(gh, gh64), maxerr(gc, gc64)] + [maxerr(grads[k], g64[k]) for k in grads])
    opts = {"numLayers": L, "bias": kw.get("bias", True), "batchFirst": bf,
            "bidirectional": kw.get("bidirectional", False)}
    if "nonlinearity" in kw:
        opts["nonlinearity"] = kw["nonlinearity"]
    if "proj_size" in kw:
        opts["projSize"] = kw["proj_size"]
    return {
        "name": name, "module": kind, "inputSize": inp, "hiddenSize": hid, "options": opts,
        "params": {k: T(v) for k, v in m.state_dict().items()},
        "x": T(x), "h0": T(h0), "c0": T(c0), "r": T(r), "r2": T(r2), "r3": T(r3),
        "out": T(out), "hN": T(hn), "cN": T(cn),
        "gradX": T(gx), "gradH0": T(gh), "gradC0": T(gc),
        "grads": {k: T(v) for k, v in grads.items()},
        "outErrF64": out_err, "gradErrF64": grad_err,
    }


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def lstm_step():
    torch.manual_seed(7)
    model = Classifier()
    init = {k: T(v) for k, v in model.state_dict().items()}
    x = torch.randn(5, 7, 4)
    y = torch.tensor([0, 2, 1, 2, 0])
    opts = {"lr": 0.5, "momentum": 0.9}
    opt = torch.optim.SGD(model.parameters(), **opts)
    steps = []
    for _ in range(4):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        steps.append({"loss": S(loss), "params": {k: T(v) for k, v in model.state_dict().items()}})
    return {"init": init, "x": T(x), "y": y.tolist(), "options": opts, "steps": steps}


def main():
    cases = [make_case(i, *c) for i, c in enumerate(CASES)]
    write("rnn.json", {
        "torchVersion": torch.__version__,
        "description": "torch.nn.RNN/LSTM/GRU outputs, final states and gradients of "
                       "(out*r).sum() + (h_n*r2).sum() [+ (c_n*r3).sum()]; an LSTM classifier SGD run",
        "cases": cases,
        "lstmStep": lstm_step(),
    })


if __name__ == "__main__":
    main()
