#!/usr/bin/python3
"""Generate PyTorch golden vectors for Kiln's tests.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_golden.py
Writes linear.json, cross_entropy.json, optim.json, mlp_step.json next to this file.
Deterministic: fixed seeds, one CPU thread, compact JSON with a fixed key order.
See README.md in this folder for the layout.
"""

import numpy as np
import torch

from golden_json import f32_short, flat, T, S, write
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

TORCH_VERSION = torch.__version__


# ---------------------------------------------------------------- helpers

# ---------------------------------------------------------------- linear

def gen_linear():
    cases = []
    for i, (fin, fout, batch) in enumerate([(3, 5, 2), (7, 4, 1), (33, 17, 5), (1, 1, 3)]):
        torch.manual_seed(1000 + i)
        lin = nn.Linear(fin, fout)  # default kaiming-uniform init
        x = torch.randn(batch, fin, requires_grad=True)
        r = torch.randn(batch, fout)
        y = lin(x)
        (y * r).sum().backward()
        y64 = x.detach().double() @ lin.weight.detach().double().t() + lin.bias.detach().double()
        cases.append({
            "name": f"linear_{fin}x{fout}_b{batch}",
            "inFeatures": fin,
            "outFeatures": fout,
            "batch": batch,
            "weight": T(lin.weight),
            "bias": T(lin.bias),
            "x": T(x),
            "y": T(y),
            "yF64": T(y64),
            "r": T(r),
            "gradX": T(x.grad),
            "gradWeight": T(lin.weight.grad),
            "gradBias": T(lin.bias.grad),
        })
    write("linear.json", {
        "torchVersion": TORCH_VERSION,
        "description": "y = x @ weight^T + bias; grads are of objective = (y * r).sum()",
        "cases": cases,
    })


# ---------------------------------------------------------------- losses

def loss_case(name, fn_name, fn, inp, target, options, torch_kwargs, target_kind):
    """Evaluate fn(inp, target, **torch_kwargs) in float32 (and float64), with grads.

    objective = loss if loss is a scalar, else (loss * r).sum() with r stored.
    """
    x = inp.detach().clone().requires_grad_(True)
    loss = fn(x, target, **torch_kwargs)
    r = None
    if loss.dim() == 0:
        obj = loss
    else:
        r = torch.randn(loss.shape)
        obj = (loss * r).sum()
    obj.backward()

    # float64 reference from the same (float32-representable) inputs
    kw64 = {k: (v.double() if torch.is_tensor(v) and v.is_floating_point() else v)
            for k, v in torch_kwargs.items()}
    t64 = target.double() if target.is_floating_point() else target
    loss64 = fn(inp.detach().double(), t64, **kw64)

    return {
        "name": name,
        "fn": fn_name,
        "input": T(inp),
        "target": T(target),
        "targetKind": target_kind,
        "options": options,
        "loss": T(loss),
        "lossF64": T(loss64),
        "r": None if r is None else T(r),
        "gradInput": T(x.grad),
    }


def gen_losses():
    torch.manual_seed(2000)
    cases = []
    shapes = [(4, 3), (7, 5), (1, 10), (33, 10)]
    reductions = ["mean", "sum", "none"]

    def ce(x, t, **kw):
        return F.cross_entropy(x, t, **kw)

    def opts(reduction, ls=None, ii=None):
        o = {"reduction": reduction}
        kw = {"reduction": reduction}
        if ls is not None:
            o["labelSmoothing"] = ls
            kw["label_smoothing"] = ls
        if ii is not None:
            o["ignoreIndex"] = ii
            kw["ignore_index"] = ii
        return o, kw

    for (n, c) in shapes:
        tag = f"{n}x{c}"
        # the (33, 10) shape gets a reduced set of cases to keep the file small
        big = n * c > 100
        reds = ("mean", "none") if big else reductions
        lss = (0.1,) if big else (0.1, 0.3)
        iis = (-100,) if big else (-100, 2)
        logits = torch.randn(n, c) * 2.0
        idx = torch.randint(0, c, (n,))
        probs = torch.softmax(torch.randn(n, c) * 1.5, dim=1)

        # class-index targets, every reduction
        for red in reductions:
            o, kw = opts(red)
            cases.append(loss_case(f"ce_index_{tag}_{red}", "cross_entropy", ce,
                                   logits, idx, o, kw, "index"))
        # probability targets
        for red in reds:
            o, kw = opts(red)
            cases.append(loss_case(f"ce_probs_{tag}_{red}", "cross_entropy", ce,
                                   logits, probs, o, kw, "probs"))
        # label smoothing (index and probability targets)
        for ls in lss:
            for red in reds:
                o, kw = opts(red, ls=ls)
                cases.append(loss_case(f"ce_index_{tag}_ls{ls}_{red}", "cross_entropy", ce,
                                       logits, idx, o, kw, "index"))
            o, kw = opts("mean", ls=ls)
            cases.append(loss_case(f"ce_probs_{tag}_ls{ls}_mean", "cross_entropy", ce,
                                   logits, probs, o, kw, "probs"))
        # ignore_index: needs n >= 2 so that not every target is ignored
        if n >= 2:
            for ii in iis:
                t = idx.clone()
                mask = torch.zeros(n, dtype=torch.bool)
                mask[1::3] = True  # every third row starting at 1
                t[mask] = ii
                for red in reds:
                    o, kw = opts(red, ii=ii)
                    cases.append(loss_case(f"ce_index_{tag}_ignore{ii}_{red}", "cross_entropy",
                                           ce, logits, t, o, kw, "index"))
                # combinations: smoothing + ignore_index
                for ls in lss:
                    for red in reds if ls == 0.1 else ("mean",):
                        o, kw = opts(red, ls=ls, ii=ii)
                        cases.append(loss_case(f"ce_index_{tag}_ls{ls}_ignore{ii}_{red}",
                                               "cross_entropy", ce, logits, t, o, kw, "index"))
                # nll_loss with ignore_index, on log-softmax inputs
                logp = F.log_softmax(logits, dim=1)
                for red in reds:
                    o, kw = opts(red, ii=ii)
                    cases.append(loss_case(f"nll_{tag}_ignore{ii}_{red}", "nll_loss", F.nll_loss,
                                           logp, t, o, kw, "index"))
        # nll_loss plain
        logp = F.log_softmax(logits, dim=1)
        for red in reds:
            o, kw = opts(red)
            cases.append(loss_case(f"nll_{tag}_{red}", "nll_loss", F.nll_loss,
                                   logp, idx, o, kw, "index"))

    # regression / binary losses
    for shape in [(4, 3), (7, 5), (33,), (2, 3, 4)]:
        tag = "x".join(map(str, shape))
        a = torch.randn(shape)
        b = torch.randn(shape)
        for red in reductions:
            cases.append(loss_case(f"mse_{tag}_{red}", "mse_loss", F.mse_loss, a, b,
                                   {"reduction": red}, {"reduction": red}, "float"))
            cases.append(loss_case(f"l1_{tag}_{red}", "l1_loss", F.l1_loss, a, b,
                                   {"reduction": red}, {"reduction": red}, "float"))
        logits = torch.randn(shape) * 2.0
        tgt = torch.rand(shape)
        tgt[..., ::2] = (tgt[..., ::2] > 0.5).float()  # mix of hard 0/1 and soft targets
        pw = torch.rand(shape[-1]) * 3.0 + 0.25       # pos_weight broadcasts over last dim
        for red in reductions:
            cases.append(loss_case(f"bce_logits_{tag}_{red}", "binary_cross_entropy_with_logits",
                                   F.binary_cross_entropy_with_logits, logits, tgt,
                                   {"reduction": red}, {"reduction": red}, "float"))
            cases.append(loss_case(f"bce_logits_{tag}_posweight_{red}",
                                   "binary_cross_entropy_with_logits",
                                   F.binary_cross_entropy_with_logits, logits, tgt,
                                   {"reduction": red, "posWeight": T(pw)},
                                   {"reduction": red, "pos_weight": pw}, "float"))

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    write("cross_entropy.json", {
        "torchVersion": TORCH_VERSION,
        "description": "loss = fn(input, target, **options); gradInput is d(objective)/d(input) "
                       "where objective = loss if r is null, else (loss * r).sum()",
        "cases": cases,
    })


# ---------------------------------------------------------------- optimizers

def state(model):
    return {k: T(v) for k, v in model.state_dict().items()}


def gen_optim():
    torch.manual_seed(3000)
    base = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    init = {k: v.detach().clone() for k, v in base.state_dict().items()}
    x = torch.randn(8, 6)
    y = torch.randint(0, 3, (8,))

    configs = [
        ("sgd", "SGD", dict(lr=0.1)),
        ("sgd_momentum", "SGD", dict(lr=0.1, momentum=0.9)),
        ("sgd_nesterov_wd", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
        ("sgd_momentum_dampening", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.1)),
        ("adam", "Adam", dict(lr=1e-2)),
        ("adam_betas_eps_wd", "Adam", dict(lr=1e-2, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
        ("adam_amsgrad", "Adam", dict(lr=1e-2, amsgrad=True)),
        # with beta2=0.999 amsgrad's running max never binds within 5 steps (identical to
        # plain Adam); beta2=0.5 lets v shrink, so these two configs differ from each other
        ("adam_beta2_0.5", "Adam", dict(lr=5e-2, betas=(0.9, 0.5))),
        ("adam_amsgrad_beta2_0.5", "Adam", dict(lr=5e-2, betas=(0.9, 0.5), amsgrad=True)),
        ("adamw", "AdamW", dict(lr=1e-2, weight_decay=0.01)),
        ("adamw_wd_betas", "AdamW", dict(lr=1e-2, weight_decay=0.1, betas=(0.85, 0.95))),
    ]
    camel = {"lr": "lr", "momentum": "momentum", "dampening": "dampening",
             "nesterov": "nesterov", "weight_decay": "weightDecay", "betas": "betas",
             "eps": "eps", "amsgrad": "amsgrad"}

    out_configs = []
    for name, cls_name, kw in configs:
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        model.load_state_dict(init)
        opt = getattr(torch.optim, cls_name)(model.parameters(), **kw)
        # full effective hyper-parameters, PyTorch defaults filled in, camelCase names
        g = opt.param_groups[0]
        options = {}
        for k, ck in camel.items():
            if k in g:
                v = g[k]
                options[ck] = list(v) if isinstance(v, tuple) else v
        steps = []
        for _ in range(5):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            steps.append({"loss": S(loss), "params": state(model)})
        out_configs.append({
            "name": name,
            "optimizer": cls_name,
            "options": options,
            "explicitOptions": [camel[k] for k in kw],
            "steps": steps,
        })

    write("optim.json", {
        "torchVersion": TORCH_VERSION,
        "description": "Sequential(Linear(6,5), ReLU, Linear(5,3)); each step: zero_grad, "
                       "loss = cross_entropy(model(x), y), backward, step. steps[i].loss is the "
                       "loss before step i; steps[i].params are the parameters after step i.",
        "model": {"layers": [{"type": "Linear", "inFeatures": 6, "outFeatures": 5},
                             {"type": "ReLU"},
                             {"type": "Linear", "inFeatures": 5, "outFeatures": 3}]},
        "init": {k: T(v) for k, v in init.items()},
        "x": T(x),
        "y": T(y),
        "configs": out_configs,
    })


# ---------------------------------------------------------------- one MLP step

def gen_mlp_step():
    torch.manual_seed(4000)
    sizes = [20, 16, 16, 4]
    model = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 4))
    x = torch.randn(8, 20)
    y = torch.randint(0, 4, (8,))
    params = state(model)

    acts = {}
    h = x
    for i, m in enumerate(model):
        h = m(h)
        acts[str(i)] = h
    logits = h
    loss = F.cross_entropy(logits, y)
    loss.backward()

    m64 = nn.Sequential(nn.Linear(20, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                        nn.Linear(16, 4)).double()
    m64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
    logits64 = m64(x.double())
    loss64 = F.cross_entropy(logits64, y)

    write("mlp_step.json", {
        "torchVersion": TORCH_VERSION,
        "description": "Sequential(Linear(20,16), ReLU, Linear(16,16), ReLU, Linear(16,4)); "
                       "loss = cross_entropy(logits, y, reduction='mean'); grads of loss. "
                       "activations[i] is the output of module i.",
        "sizes": sizes,
        "batch": 8,
        "params": params,
        "x": T(x),
        "y": T(y),
        "activations": {k: T(v) for k, v in acts.items()},
        "logits": T(logits),
        "logitsF64": T(logits64),
        "loss": S(loss),
        "lossF64": S(loss64),
        "grads": {k: T(p.grad) for k, p in model.named_parameters()},
    })


if __name__ == "__main__":
    gen_linear()
    gen_losses()
    gen_optim()
    gen_mlp_step()
