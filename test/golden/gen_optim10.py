#!/usr/bin/python3
"""Ten-step optimizer trajectories from torch.optim, for test/optim10.test.ts.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_optim10.py
Writes optim10.json next to this file. Deterministic: the model, init, x and y are read from
optim.json (written by gen_golden.py), one CPU thread, compact JSON with a fixed key order.
See README.md in this folder for the layout.
"""
import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_json import with_counts

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 10
STATE_AFTER = 3  # state_dict() is written after this many steps

CAMEL = {
    "lr": "lr", "momentum": "momentum", "dampening": "dampening", "nesterov": "nesterov",
    "weight_decay": "weightDecay", "betas": "betas", "eps": "eps", "amsgrad": "amsgrad",
    "maximize": "maximize", "alpha": "alpha", "centered": "centered", "lr_decay": "lrDecay",
    "initial_accumulator_value": "initialAccumulatorValue",
}

# (name, optimizer, defaults, groups): groups is None (one group: all parameters) or a list
# of per-group overrides for [module 0 params, module 2 params]
CONFIGS = [
    ("sgd", "SGD", dict(lr=0.1), None),
    ("sgd_momentum", "SGD", dict(lr=0.1, momentum=0.9), None),
    ("sgd_dampening", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.3), None),
    ("sgd_nesterov", "SGD", dict(lr=0.1, momentum=0.9, nesterov=True), None),
    ("sgd_weight_decay", "SGD", dict(lr=0.1, weight_decay=0.1), None),
    ("sgd_maximize", "SGD", dict(lr=0.05, momentum=0.5, maximize=True), None),
    ("adam", "Adam", dict(lr=1e-2), None),
    ("adam_weight_decay", "Adam", dict(lr=1e-2, weight_decay=0.1), None),
    # beta2 = 0.5 lets v shrink within ten steps, so the amsgrad max binds
    ("adam_amsgrad", "Adam", dict(lr=2e-2, betas=(0.9, 0.5), amsgrad=True), None),
    ("adam_betas_eps", "Adam", dict(lr=1e-2, betas=(0.8, 0.9), eps=1e-3), None),
    ("adam_maximize", "Adam", dict(lr=1e-2, maximize=True), None),
    ("adamw", "AdamW", dict(lr=1e-2), None),
    ("adamw_weight_decay_amsgrad", "AdamW", dict(lr=1e-2, weight_decay=0.2, betas=(0.9, 0.5), amsgrad=True), None),
    ("rmsprop", "RMSprop", dict(), None),
    ("rmsprop_alpha", "RMSprop", dict(lr=5e-3, alpha=0.5), None),
    ("rmsprop_centered", "RMSprop", dict(lr=5e-3, centered=True), None),
    ("rmsprop_momentum", "RMSprop", dict(lr=5e-3, momentum=0.9), None),
    ("rmsprop_centered_momentum", "RMSprop", dict(lr=5e-3, alpha=0.9, centered=True, momentum=0.5), None),
    ("rmsprop_weight_decay", "RMSprop", dict(lr=5e-3, weight_decay=0.5, eps=1e-4), None),
    ("rmsprop_maximize", "RMSprop", dict(lr=1e-3, maximize=True), None),
    ("adagrad", "Adagrad", dict(lr=0.1), None),
    ("adagrad_lr_decay", "Adagrad", dict(lr=0.1, lr_decay=0.5), None),
    ("adagrad_weight_decay", "Adagrad", dict(lr=0.1, weight_decay=0.5), None),
    ("adagrad_initial_accumulator", "Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3), None),
    ("adagrad_maximize", "Adagrad", dict(lr=0.05, maximize=True), None),
    # parameter groups: per-group values override the defaults
    ("sgd_groups", "SGD", dict(lr=0.1, momentum=0.9), [dict(lr=0.02, weight_decay=0.1), dict(momentum=0.5, nesterov=True)]),
    ("adam_groups", "Adam", dict(lr=1e-2), [dict(lr=3e-2, betas=(0.8, 0.9)), dict(amsgrad=True, weight_decay=0.1)]),
    ("adamw_groups", "AdamW", dict(lr=1e-2, weight_decay=0.1), [dict(lr=3e-2), dict(weight_decay=0.0)]),
    ("rmsprop_groups", "RMSprop", dict(lr=5e-3), [dict(lr=1e-3, centered=True), dict(momentum=0.9, alpha=0.9)]),
    # torch 1.13's Adagrad fills every group's state with the constructor's
    # initial_accumulator_value, ignoring a per-group value (Kiln uses the group's), so the
    # groups here share it
    ("adagrad_groups", "Adagrad", dict(lr=0.1, initial_accumulator_value=0.1), [dict(lr=0.02, lr_decay=0.1), dict(weight_decay=0.1, eps=1e-3)]),
]


def f32_short(v):
    return float(repr(np.float32(v)))


def T(t):
    """float32 tensor -> {shape, data}: shortest digits that round-trip to the float32 value."""
    t = t.detach().cpu()
    assert t.dtype == torch.float32
    a = t.reshape(-1).numpy()
    data = [f32_short(v) for v in a]
    back = np.array(data, dtype=np.float64).astype(np.float32)
    assert np.array_equal(back.view(np.uint32), a.view(np.uint32)), "float32 round-trip"
    return {"shape": list(t.shape), "data": data}


def from_T(d, dtype=torch.float32):
    return torch.tensor(d["data"], dtype=dtype).reshape(d["shape"])


def camel_options(group):
    out = {}
    for k, ck in CAMEL.items():
        if k in group:
            v = group[k]
            out[ck] = list(v) if isinstance(v, tuple) else v
    return out


def state_dict_json(opt):
    """optimizer.state_dict() as JSON: tensors as {shape, data}, step as a number."""
    sd = opt.state_dict()
    state = {}
    for pid, entry in sd["state"].items():
        e = {}
        for k, v in entry.items():
            if v is None:
                e[k] = None
            elif torch.is_tensor(v) and v.dim() == 0:
                e[k] = float(v.item())  # step: a 0-d float tensor in 1.13 (Adam, Adagrad)
            elif torch.is_tensor(v):
                e[k] = T(v)
            else:
                e[k] = v  # step: an int (RMSprop)
        state[str(pid)] = e
    groups = []
    for g in sd["param_groups"]:
        groups.append({k: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()})
    return {"state": state, "param_groups": groups}


def main():
    with open(os.path.join(HERE, "optim.json")) as f:
        base = json.load(f)
    init = {k: from_T(v) for k, v in base["init"].items()}
    x = from_T(base["x"])
    y = torch.tensor(base["y"]["data"], dtype=torch.int64)

    configs = []
    for name, cls_name, kw, groups in CONFIGS:
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        model.load_state_dict(init)
        if groups is None:
            params = model.parameters()
        else:
            params = [dict(params=list(model[i].parameters()), **g) for i, g in zip((0, 2), groups)]
        opt = getattr(torch.optim, cls_name)(params, **kw)
        steps = []
        state3 = None
        for i in range(STEPS):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            steps.append({"loss": f32_short(loss.item()),
                          "params": {k: T(v) for k, v in model.state_dict().items()}})
            if i + 1 == STATE_AFTER:
                state3 = state_dict_json(opt)
        entry = {
            "name": name,
            "optimizer": cls_name,
            "options": {CAMEL[k]: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()},
            "groups": None if groups is None else [
                {"modules": [i], "options": {CAMEL[k]: (list(v) if isinstance(v, tuple) else v) for k, v in g.items()}}
                for i, g in zip((0, 2), groups)],
            "effectiveOptions": [camel_options(g) for g in opt.param_groups],
            "steps": steps,
            "stateDict": state3,
        }
        configs.append(entry)

    obj = {
        "torchVersion": torch.__version__,
        "description": "Sequential(Linear(6,5), ReLU, Linear(5,3)) from optim.json's init, x, y; "
                       "each step: zero_grad, loss = cross_entropy(model(x), y), backward, step. "
                       "steps[i].loss is the loss before step i, steps[i].params the parameters "
                       "after it. stateDict is optimizer.state_dict() after 3 steps.",
        "stateAfter": STATE_AFTER,
        "configs": configs,
    }
    text = json.dumps(with_counts(obj), separators=(",", ":"), allow_nan=False)
    with open(os.path.join(HERE, "optim10.json"), "w") as f:
        f.write(text + "\n")
    print(f"wrote optim10.json: {len(text) / 1024:.1f} KB")


if __name__ == "__main__":
    main()
