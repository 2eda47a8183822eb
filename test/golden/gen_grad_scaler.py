#!/usr/bin/python3
"""GradScaler trajectories from PyTorch's torch.cuda.amp.GradScaler, for test/amp.test.ts.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_grad_scaler.py
Writes grad_scaler.json next to this file. Deterministic (fixed seed, one CPU thread).

Debian's torch 1.13 is CPU-only, and GradScaler 1.13 runs only on CUDA tensors: its two
kernels (_amp_foreach_non_finite_check_and_unscale_, _amp_update_scale_) exist for CUDA alone,
and the class asserts .is_cuda. So this script
  - loads PyTorch's own grad_scaler.py with the device assertions pointed at the CPU
    (`.is_cuda` -> `.is_cpu`, `amp_definitely_not_available()` -> False); every other line (the
    per-optimizer stages, when a step is skipped, the found-inf bookkeeping, update(),
    state_dict()) is PyTorch's;
  - registers CPU versions of the two kernels, transcribed line for line from
    aten/src/ATen/native/cuda/AmpKernels.cu (1.13): the unscale kernel flags a non-finite
    value *before* multiplying by inv_scale; the update kernel backs off on found_inf, else
    counts good steps and grows the scale when the count reaches growth_interval exactly,
    keeping the old scale if the grown one is not finite.

Each case: a parameter w [2, 3] and b [3], loss = sum(w * C_t) + sum(b * D_t), so the
gradients are exactly scale * C_t and scale * D_t. Steps with an inf, a NaN, and a finite
value that overflows once scaled are scripted in; after each iteration the scale, growth
tracker, whether the optimizer stepped, the parameters and the optimizer state are recorded.
JSON cannot hold inf or NaN: inputs write them as the strings "inf", "-inf", "nan".
"""
import json
import math
import os
import types

import torch
import torch.cuda.amp.grad_scaler as torch_grad_scaler

from golden_json import T, HERE

torch.set_num_threads(1)
torch.manual_seed(0)

# ---- PyTorch's GradScaler, with its CUDA assertions pointed at the CPU
src = open(torch_grad_scaler.__file__).read()
src = src.replace(".is_cuda", ".is_cpu").replace("amp_definitely_not_available()", "False")
gs_module = types.ModuleType("grad_scaler_cpu")
gs_module.__dict__["__package__"] = "torch.cuda.amp"  # its relative imports resolve as in PyTorch
exec(compile(src, torch_grad_scaler.__file__, "exec"), gs_module.__dict__)
GradScaler = gs_module.GradScaler

# ---- the two CUDA kernels, on the CPU (AmpKernels.cu)
lib = torch.library.Library("aten", "IMPL", "CPU")


def non_finite_check_and_unscale_(grads, found_inf, inv_scale):
    inv = inv_scale.item()
    for g in grads:
        flat = g.view(-1)
        for i in range(flat.numel()):
            val = flat[i].item()
            if not math.isfinite(val):
                found_inf.fill_(1.0)
            # computed in float (opmath) and stored back as the grad's dtype
            flat[i] = val if inv == 1.0 else torch.tensor(val, dtype=torch.float32) * torch.tensor(inv, dtype=torch.float32)


def update_scale_(current_scale, growth_tracker, found_inf, growth_factor, backoff_factor, growth_interval):
    if found_inf.item():
        # float * double, stored as float
        current_scale.fill_(float(torch.tensor(current_scale.item() * backoff_factor, dtype=torch.float64).float()))
        growth_tracker.fill_(0)
    else:
        successful = growth_tracker.item() + 1
        if successful == growth_interval:
            new_scale = float(torch.tensor(current_scale.item() * growth_factor, dtype=torch.float64).float())
            if math.isfinite(new_scale):
                current_scale.fill_(new_scale)
            growth_tracker.fill_(0)
        else:
            growth_tracker.fill_(successful)
    return current_scale


lib.impl("_amp_foreach_non_finite_check_and_unscale_", non_finite_check_and_unscale_)
lib.impl("_amp_update_scale_", update_scale_)


def enc(t):
    """A tensor whose values may be inf or NaN: finite values as T writes them, the others as strings."""
    finite = torch.where(torch.isfinite(t), t, torch.zeros_like(t))
    d = T(finite)
    vals = t.reshape(-1).tolist()
    d["data"] = [x if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")) for x, v in zip(d["data"], vals)]
    return d


CASES = [
    {
        "name": "adam_growth_and_backoff",
        "optimizer": {"type": "Adam", "lr": 0.02},
        "scaler": {"initScale": 1024.0, "growthFactor": 2.0, "backoffFactor": 0.5, "growthInterval": 3},
        "clip": None,
        # step -> (tensor, index, value): an inf, a NaN, and 3e36, finite but inf once scaled
        "inject": {2: ("C", 4, math.inf), 5: ("D", 1, math.nan), 6: ("C", 0, 3e36)},
        "steps": 14,
    },
    {
        "name": "sgd_momentum_unscale_clip",
        "optimizer": {"type": "SGD", "lr": 0.05, "momentum": 0.9},
        "scaler": {"initScale": 8.0, "growthFactor": 3.0, "backoffFactor": 0.25, "growthInterval": 2},
        "clip": 1.0,
        "inject": {0: ("D", 2, -math.inf), 3: ("C", 5, math.nan), 4: ("C", 1, 3e38)},
        "steps": 12,
    },
]


def run(case):
    w = torch.randn(2, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    init = {"w": T(w), "b": T(b)}
    o = case["optimizer"]
    if o["type"] == "Adam":
        opt = torch.optim.Adam([w, b], lr=o["lr"])
    else:
        opt = torch.optim.SGD([w, b], lr=o["lr"], momentum=o["momentum"])
    s = case["scaler"]
    scaler = GradScaler(init_scale=s["initScale"], growth_factor=s["growthFactor"],
                        backoff_factor=s["backoffFactor"], growth_interval=s["growthInterval"])
    steps = []
    for t in range(case["steps"]):
        C = torch.randn(2, 3)
        D = torch.randn(3)
        if t in case["inject"]:
            which, i, v = case["inject"][t]
            (C if which == "C" else D).view(-1)[i] = v
        opt.zero_grad()
        loss = (w * C).sum() + (b * D).sum()
        scaler.scale(loss).backward()
        if case["clip"] is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_([w, b], case["clip"])
        before = [w.detach().clone(), b.detach().clone()]
        scaler.step(opt)
        scaler.update()
        stepped = not (torch.equal(before[0], w.detach()) and torch.equal(before[1], b.detach()))
        state = {}
        for name, p in (("w", w), ("b", b)):
            st = opt.state.get(p, {})
            state[name] = {k: (float(v.item()) if k == "step" else T(v)) for k, v in st.items()}
        steps.append({
            "C": enc(C), "D": enc(D),
            "scale": scaler.get_scale(), "growthTracker": scaler._get_growth_tracker(),
            "stepped": stepped, "w": T(w), "b": T(b), "state": state,
        })
    return {"name": case["name"], "optimizer": o, "scaler": s, "clip": case["clip"], "init": init,
            "steps": steps, "stateDict": scaler.state_dict()}


out = {"torchVersion": torch.__version__, "cases": [run(c) for c in CASES]}
with open(os.path.join(HERE, "grad_scaler.json"), "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print("wrote grad_scaler.json:", ", ".join(f"{c['name']} (scales {[st['scale'] for st in c['steps']]})" for c in out["cases"]))
