#!/usr/bin/python3
"""Transfer learning from PyTorch weights (test/golden/transfer/, read by test/transfer.test.ts).

    /usr/bin/python3 test/golden/gen_transfer.py

A small CNN with named submodules, as people write them:

    Net.features   = Sequential(Conv2d(1,8,3,padding=1), BatchNorm2d(8), ReLU, MaxPool2d(2),
                                Conv2d(8,16,3), BatchNorm2d(16), ReLU, AdaptiveAvgPool2d(2), Flatten)
    Net.classifier = Linear(64, 10)

is "pre-trained" for 12 Adam steps on random data in train mode (so the weights, the
batch-norm affine parameters and the running statistics are all non-trivial), then its
state_dict is saved the way `safetensors.torch.save_file(model.state_dict(), path)` saves it
(Debian's torch 1.13 has no `safetensors` package, so the format is written by hand, laid
out as the reference writer lays it out: tensors sorted by dtype, largest first (I64 before
F32), then by name; the JSON header padded with spaces to a multiple of 8; no metadata;
`num_batches_tracked` stays int64, as PyTorch stores it).

Files (deterministic: fixed seeds, one thread; running twice gives identical bytes):
  pretrained.safetensors  the pre-trained state_dict (keys exactly as PyTorch names them)
  reference.json          {torchVersion, stateDictKeys (PyTorch's order), shapes,
                           evalX [8,1,12,12], evalY [8,10] (eval-mode outputs),
                           headInit {weight [3,64], bias [3]} of the new head,
                           x [16,1,12,12], y [16] (the fine-tuning batch), options (SGD),
                           runs: {eval: ..., train: ...}}
  A run is 5 SGD steps (lr 0.05, momentum 0.9, weight decay 0.01: a frozen parameter that an
  optimizer did not skip would decay) of cross-entropy on the fixed batch with the
  features frozen (`features.requires_grad_(False)`) and the new head Linear(64, 3):
    eval   the usual recipe for a frozen backbone: `model.train(); model.features.eval()`, so
           batch norm uses (and keeps) the loaded running statistics;
    train  the whole model in train mode: batch norm normalises with batch statistics and
           updates its running statistics (and num_batches_tracked), although its weight and
           bias stay frozen.
  Each run records, after every step: loss (before the update, as returned by the step),
  the head's weight and bias after the update, and the batch-norm buffers after the step.
  Each run is done twice in PyTorch, with SGD given only the head's parameters and with SGD
  given all parameters (frozen ones get no .grad and torch.optim.SGD skips them); the
  generator asserts that both give bit-identical results and that the frozen parameters
  did not change.
"""
import json
import struct
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent / "transfer"
DT = {torch.float32: "F32", torch.int64: "I64"}
# the reference writer orders tensors by dtype, largest enum value first (I64 > F32), then by name
DT_RANK = {"I64": 0, "F32": 1}
LR, MOMENTUM, WEIGHT_DECAY, STEPS = 0.05, 0.9, 0.01, 5


class Net(nn.Module):
    def __init__(self, classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3), nn.BatchNorm2d(16), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.classifier = nn.Linear(64, classes)

    def forward(self, x):
        return self.classifier(self.features(x))


def save_file(tensors, path):
    """safetensors.torch.save_file, by hand (no metadata)."""
    items = sorted(((k, v.detach().contiguous()) for k, v in tensors.items()), key=lambda kv: (DT_RANK[DT[kv[1].dtype]], kv[0]))
    header, blobs, off = {}, [], 0
    for name, t in items:
        b = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def load_file(path):
    """An independent reader, to check the file round-trips."""
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    np_dt = {"F32": np.float32, "I64": np.int64}
    out = {}
    for k, info in header.items():
        b, e = info["data_offsets"]
        a = np.frombuffer(raw[8 + n + b:8 + n + e], dtype=np.dtype(np_dt[info["dtype"]]).newbyteorder("<"))
        out[k] = torch.from_numpy(a.astype(np_dt[info["dtype"]]).reshape(info["shape"]).copy())
    return out


def T(t):
    t = t.detach()
    data = t.flatten().tolist()
    if t.is_floating_point():
        assert t.dtype == torch.float32
        # repr of a float32 value held in a double round-trips exactly through Math.fround
        assert np.array_equal(np.array(data, dtype=np.float32), t.flatten().numpy())
    return {"shape": list(t.shape), "data": data}


def bn_buffers(model):
    return {k: T(v) for k, v in model.state_dict().items() if "running_" in k or "num_batches" in k}


def fine_tune(pre_sd, head_init, x, y, mode, all_params):
    model = Net()
    model.load_state_dict(pre_sd, strict=True)
    model.features.requires_grad_(False)
    model.classifier = nn.Linear(64, 3)
    model.classifier.load_state_dict(head_init)
    model.train()
    if mode == "eval":
        model.features.eval()
    params = model.parameters() if all_params else model.classifier.parameters()
    opt = torch.optim.SGD(params, lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    steps = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        steps.append({"loss": loss.item(), "weight": T(model.classifier.weight), "bias": T(model.classifier.bias),
                      "buffers": bn_buffers(model)})
    for k, v in model.features.state_dict().items():
        if "running_" in k or "num_batches" in k:
            continue
        assert torch.equal(v, pre_sd["features." + k]), f"frozen parameter features.{k} changed"
        assert model.features.get_parameter(k).grad is None
    return steps


def generate():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    HERE.mkdir(parents=True, exist_ok=True)

    # ---- "pre-training": 12 Adam steps on random 10-class data, train mode
    model = Net()
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(12):
        xb = torch.randn(16, 1, 12, 12) * 1.5 + 0.5
        yb = torch.randint(0, 10, (16,))
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    sd = model.state_dict()
    assert sd["features.1.num_batches_tracked"].dtype == torch.int64 and sd["features.1.num_batches_tracked"].item() == 12
    save_file(sd, HERE / "pretrained.safetensors")
    back = load_file(HERE / "pretrained.safetensors")
    assert list(back) != list(sd) and set(back) == set(sd)  # the file's order is the writer's, not state_dict's
    for k, v in sd.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v), k

    # ---- eval-mode outputs of the loaded model
    fresh = Net()
    fresh.load_state_dict(back, strict=True)
    fresh.eval()
    eval_x = torch.randn(8, 1, 12, 12) * 1.5 + 0.5
    with torch.no_grad():
        eval_y = fresh(eval_x)

    # ---- fine-tuning references
    head = nn.Linear(64, 3)
    head_init = {k: v.detach().clone() for k, v in head.state_dict().items()}
    x = torch.randn(16, 1, 12, 12) * 1.5 + 0.5
    y = torch.randint(0, 3, (16,))
    runs = {}
    for mode in ("eval", "train"):
        a = fine_tune(back, head_init, x, y, mode, all_params=False)
        b = fine_tune(back, head_init, x, y, mode, all_params=True)
        assert json.dumps(a) == json.dumps(b), f"{mode}: SGD over all parameters differs from SGD over the head's"
        runs[mode] = a
    # the eval recipe keeps the loaded statistics; the train one moves them
    assert runs["eval"][-1]["buffers"] == {k: T(v) for k, v in back.items() if "running_" in k or "num_batches" in k}
    assert runs["train"][-1]["buffers"]["features.1.num_batches_tracked"]["data"] == [12 + STEPS]

    ref = {
        "torchVersion": torch.__version__,
        "description": __doc__.strip().split("\n\n")[1].strip(),
        "stateDictKeys": list(sd),
        "shapes": {k: list(v.shape) for k, v in sd.items()},
        "evalX": T(eval_x), "evalY": T(eval_y),
        "headInit": {k: T(v) for k, v in head_init.items()},
        "x": T(x), "y": T(y),
        "options": {"lr": LR, "momentum": MOMENTUM, "weightDecay": WEIGHT_DECAY},
        "runs": runs,
    }
    (HERE / "reference.json").write_text(json.dumps(ref) + "\n")
    print(f"wrote {HERE}/pretrained.safetensors ({(HERE / 'pretrained.safetensors').stat().st_size} bytes), "
          f"reference.json ({(HERE / 'reference.json').stat().st_size} bytes)")


if __name__ == "__main__":
    generate()
