#!/usr/bin/python3
"""Second half of bench/onnx/check.ts: loads the weights check.ts wrote (laid out as NAME.json says)
into gen_onnx.py's PyTorch modules, runs them on the same input and compares with ORT's output."""
import json
import os
import sys

import numpy as np
import torch

from gen_onnx import MODELS

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/onnxcheck"
ok = True
for name, (make, _, _) in MODELS.items():
    manifest = json.load(open(os.path.join(HERE, f"{name}.json")))
    raw = open(os.path.join(DIR, f"{name}.weights"), "rb").read()
    sd = {i["name"]: torch.from_numpy(np.frombuffer(raw, np.float32, i["length"] // 4, i["offset"]).reshape(i["shape"]).copy())
          for i in manifest["initializers"]}
    m = make().eval()
    missing, unexpected = m.load_state_dict(sd, strict=False)
    assert not unexpected and all(k.endswith("num_batches_tracked") for k in missing), (missing, unexpected)
    y_ort = np.fromfile(os.path.join(DIR, f"{name}.y"), np.float32)
    x = torch.from_numpy(np.fromfile(os.path.join(DIR, f"{name}.x"), np.float32))
    shape = [-1] + manifest["input"][1:] if manifest["dynamicBatch"] else manifest["input"]
    with torch.no_grad():
        y = m(x.reshape(shape)).numpy().reshape(-1)
    err = float(np.abs(y - y_ort).max())
    ok &= err < 1e-3
    print(f"{name}: max |torch - ORT| = {err:.2e} over {y.size} outputs; torch out[0..3] {' '.join(f'{v:.4f}' for v in y[:4])}")
sys.exit(0 if ok else 1)
