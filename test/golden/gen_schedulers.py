#!/usr/bin/python3
"""Golden learning-rate sequences from torch.optim.lr_scheduler for Kiln's schedulers.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_schedulers.py
Writes schedulers.json next to this file. Deterministic (no randomness; fixed metric
sequences), compact JSON with a fixed key order.

Each case builds a dummy optimizer (SGD, or Adam for the beta1-cycling OneCycleLR cases) with
one or two parameter groups of different learning rates, constructs the scheduler (which
applies the initial lr, last_epoch = 0), then calls step() `steps` times. `lrs[k]` is the lr of
every group after k steps (`lrs[0]`: right after construction), read from the optimizer's
param_groups as full doubles; `lastLr` is get_last_lr() after the last step. For OneCycleLR,
`momentums[k]` is each group's momentum (SGD) or beta1 (Adam) after k steps. For
ReduceLROnPlateau, step k is `step(metrics[k - 1])`.

Scheduler specs use Kiln's names: `args` are the positional arguments after the optimizer,
`options` the keyword arguments in camelCase (`tMax` is PyTorch's `T_max`). For SequentialLR,
`args[0]` is a list of scheduler specs, constructed in order on the same optimizer, as
PyTorch requires.
"""
import json
import math
import os
import re
import warnings

import torch

from golden_json import with_counts
from torch.optim import lr_scheduler as L

warnings.simplefilter("ignore")  # "lr_scheduler.step() before optimizer.step()": there is no training here

HERE = os.path.dirname(os.path.abspath(__file__))


def snake(k):
    if k == "tMax":
        return "T_max"
    return re.sub("([A-Z])", r"_\1", k).lower()


def make_optimizer(optimizer, groups, opt_options):
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in groups]
    gs = [{"params": [p], "lr": lr} for p, lr in zip(params, groups)]
    kw = {snake(k): v for k, v in opt_options.items()}
    if optimizer == "SGD":
        return torch.optim.SGD(gs, lr=groups[0], **kw)
    if optimizer == "Adam":
        return torch.optim.Adam(gs, lr=groups[0], **kw)
    raise ValueError(optimizer)


def build(opt, spec):
    cls = getattr(L, spec["scheduler"])
    args = list(spec["args"])
    if spec["scheduler"] == "SequentialLR":
        args[0] = [build(opt, s) for s in args[0]]
    return cls(opt, *args, **{snake(k): v for k, v in spec["options"].items()})


def momentum_of(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def sd_keys(sched):
    keys = set(sched.state_dict().keys())
    if "anneal_func" in keys:  # a bound method in 1.13; Kiln stores the strategy's name instead
        keys.discard("anneal_func")
        keys.add("_anneal_func_type")
    return sorted(keys)


def run(name, scheduler, args=(), options=None, groups=(0.1, 0.01), steps=40,
        optimizer="SGD", opt_options=None, metrics=None):
    spec = {"scheduler": scheduler, "args": list(args), "options": options or {}}
    opt_options = opt_options or {}
    opt = make_optimizer(optimizer, groups, opt_options)
    sched = build(opt, spec)
    is_onecycle = scheduler == "OneCycleLR"
    lrs = [[g["lr"] for g in opt.param_groups]]
    moms = [momentum_of(opt)]
    for k in range(steps):
        if metrics is not None:
            sched.step(metrics[k])
        else:
            sched.step()
        lrs.append([g["lr"] for g in opt.param_groups])
        moms.append(momentum_of(opt))
    case = {
        "name": name,
        **spec,
        "optimizer": optimizer,
        "optimizerOptions": opt_options,
        "groups": list(groups),
        "steps": steps,
    }
    if metrics is not None:
        case["metrics"] = list(metrics[:steps])
    case["lrs"] = lrs
    case["lastLr"] = list(sched._last_lr)  # get_last_lr(); ReduceLROnPlateau (1.13) has only _last_lr
    case["stateDictKeys"] = sd_keys(sched)
    if scheduler == "SequentialLR":
        case["subStateDictKeys"] = [sd_keys(s) for s in sched._schedulers]
    sd = sched.state_dict()
    case["lastEpoch"] = sd["last_epoch"]
    if "_step_count" in sd:
        case["stepCount"] = sd["_step_count"]
    if is_onecycle:
        case["momentums"] = moms
        # one step beyond total_steps raises (PyTorch has already counted it by then)
        try:
            sched.step()
            case["raisesNextStep"] = False
        except ValueError:
            case["raisesNextStep"] = True
    for v in [x for row in lrs for x in row] + [x for row in moms for x in row]:
        assert math.isfinite(v)
    return case


def plateau_metrics(n, mode="min"):
    """A loss that falls, then plateaus with small wiggles, then falls again, then plateaus."""
    out = []
    for i in range(n):
        if i < 8:
            v = 1.0 - 0.08 * i
        elif i < 30:
            v = 0.44 + 0.00003 * ((i * 7) % 5) - 0.00001 * (i - 8)
        elif i < 36:
            v = 0.44 - 0.05 * (i - 29)
        else:
            v = 0.14 + 0.001 * ((i * 3) % 4)
        out.append(v if mode == "min" else 1.0 - v)
    return out


def main():
    cases = []
    two = (0.1, 0.01)
    # StepLR
    cases.append(run("StepLR stepSize=3", "StepLR", [3], {}, groups=two, steps=40))
    cases.append(run("StepLR stepSize=7 gamma=0.5", "StepLR", [7], {"gamma": 0.5}, groups=(0.3, 0.05), steps=60))
    cases.append(run("StepLR stepSize=1 gamma=0.97 one group", "StepLR", [1], {"gamma": 0.97}, groups=(0.02,), steps=50))
    # MultiStepLR
    cases.append(run("MultiStepLR [5,12,30]", "MultiStepLR", [[5, 12, 30]], {}, groups=two, steps=40))
    cases.append(run("MultiStepLR [3,10] gamma=0.5", "MultiStepLR", [[3, 10]], {"gamma": 0.5}, groups=(1.0, 0.25), steps=30))
    cases.append(run("MultiStepLR repeated milestone [4,4,9]", "MultiStepLR", [[4, 4, 9]], {"gamma": 0.3}, groups=two, steps=30))
    # ExponentialLR
    cases.append(run("ExponentialLR gamma=0.9", "ExponentialLR", [0.9], {}, groups=two, steps=60))
    cases.append(run("ExponentialLR gamma=0.999", "ExponentialLR", [0.999], {}, groups=(0.5,), steps=100))
    # CosineAnnealingLR (past T_max: the recursive form climbs back)
    cases.append(run("CosineAnnealingLR tMax=20", "CosineAnnealingLR", [20], {}, groups=two, steps=40))
    cases.append(run("CosineAnnealingLR tMax=10 etaMin=0.001 past tMax", "CosineAnnealingLR", [10], {"etaMin": 0.001}, groups=two, steps=45))
    cases.append(run("CosineAnnealingLR tMax=50", "CosineAnnealingLR", [50], {"etaMin": 1e-5}, groups=(0.003, 0.0007), steps=100))
    # LinearLR
    cases.append(run("LinearLR defaults", "LinearLR", [], {}, groups=two, steps=30))
    cases.append(run("LinearLR start=0.1 totalIters=20", "LinearLR", [], {"startFactor": 0.1, "totalIters": 20}, groups=two, steps=30))
    cases.append(run("LinearLR decay 1 -> 0.05 over 25", "LinearLR", [], {"startFactor": 1.0, "endFactor": 0.05, "totalIters": 25}, groups=(0.2, 0.02), steps=40))
    # OneCycleLR
    cases.append(run("OneCycleLR totalSteps=50 cos", "OneCycleLR", [1.0], {"totalSteps": 50}, groups=two, steps=50, opt_options={"momentum": 0.9}))
    cases.append(run("OneCycleLR per-group maxLr linear", "OneCycleLR", [[0.5, 0.05]], {"totalSteps": 40, "annealStrategy": "linear", "pctStart": 0.25}, groups=two, steps=40, opt_options={"momentum": 0.9}))
    cases.append(run("OneCycleLR epochs*stepsPerEpoch threePhase", "OneCycleLR", [0.8], {"epochs": 6, "stepsPerEpoch": 10, "threePhase": True, "divFactor": 10.0, "finalDivFactor": 100.0}, groups=two, steps=60, opt_options={"momentum": 0.9}))
    cases.append(run("OneCycleLR no momentum cycling", "OneCycleLR", [0.3], {"totalSteps": 30, "cycleMomentum": False, "pctStart": 0.4}, groups=(0.1,), steps=30))
    cases.append(run("OneCycleLR Adam beta1 cycling", "OneCycleLR", [0.01], {"totalSteps": 35, "baseMomentum": 0.8, "maxMomentum": 0.9}, groups=(0.001, 0.002), steps=35, optimizer="Adam"))
    # SequentialLR
    cases.append(run("SequentialLR LinearLR warmup -> CosineAnnealingLR", "SequentialLR",
                     [[{"scheduler": "LinearLR", "args": [], "options": {"startFactor": 0.1, "totalIters": 5}},
                       {"scheduler": "CosineAnnealingLR", "args": [25], "options": {"etaMin": 0.0001}}], [5]],
                     {}, groups=two, steps=40))
    cases.append(run("SequentialLR ExponentialLR -> StepLR -> MultiStepLR", "SequentialLR",
                     [[{"scheduler": "ExponentialLR", "args": [0.9], "options": {}},
                       {"scheduler": "StepLR", "args": [4], "options": {"gamma": 0.5}},
                       {"scheduler": "MultiStepLR", "args": [[3, 8]], "options": {"gamma": 0.2}}], [6, 20]],
                     {}, groups=two, steps=40))
    cases.append(run("SequentialLR LinearLR -> OneCycleLR", "SequentialLR",
                     [[{"scheduler": "LinearLR", "args": [], "options": {"startFactor": 0.5, "totalIters": 4}},
                       {"scheduler": "OneCycleLR", "args": [0.4], "options": {"totalSteps": 30, "cycleMomentum": False}}], [4]],
                     {}, groups=two, steps=34))
    # ReduceLROnPlateau
    m = plateau_metrics(60)
    cases.append(run("ReduceLROnPlateau patience=3", "ReduceLROnPlateau", [], {"patience": 3}, groups=two, steps=60, metrics=m))
    cases.append(run("ReduceLROnPlateau defaults", "ReduceLROnPlateau", [], {}, groups=two, steps=60, metrics=m))
    cases.append(run("ReduceLROnPlateau abs threshold cooldown minLr", "ReduceLROnPlateau", [],
                     {"patience": 2, "factor": 0.5, "threshold": 0.01, "thresholdMode": "abs", "cooldown": 3, "minLr": [0.02, 0.001]},
                     groups=two, steps=60, metrics=m))
    cases.append(run("ReduceLROnPlateau max mode", "ReduceLROnPlateau", [],
                     {"mode": "max", "patience": 1, "factor": 0.2, "minLr": 1e-4}, groups=two, steps=60, metrics=plateau_metrics(60, "max")))
    cases.append(run("ReduceLROnPlateau eps blocks small reductions", "ReduceLROnPlateau", [],
                     {"patience": 0, "factor": 0.5, "eps": 0.004}, groups=two, steps=40, metrics=plateau_metrics(40)))

    obj = {
        "torchVersion": torch.__version__,
        "description": "torch.optim.lr_scheduler learning rates per group after construction and after each step(); see gen_schedulers.py",
        "cases": cases,
    }
    text = json.dumps(with_counts(obj), separators=(",", ":"), allow_nan=False)
    with open(os.path.join(HERE, "schedulers.json"), "w") as f:
        f.write(text + "\n")
    print(f"schedulers.json: {len(cases)} cases, {len(text)} bytes")


if __name__ == "__main__":
    main()
