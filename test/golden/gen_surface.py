"""Golden vectors for the PyTorch surface of issue 14: tensor ops, creation functions and
the calling-convention fixes. Each case: inputs, outputs (a list: ops such as split return
several) and, where the outputs are float, the gradients of sum(out_i * r_i) for the float
inputs. Run with Debian's torch: /usr/bin/python3 test/golden/gen_surface.py
"""
import math

import torch
import torch.nn.functional as F

from golden_json import T, write

torch.manual_seed(14)
torch.set_num_threads(1)

cases = []


def case(name, fn, **inputs):
    """Runs fn on the inputs; float inputs get gradients of sum(out_i * r_i)."""
    leaves = {k: (v.clone().requires_grad_(True) if v.is_floating_point() else v) for k, v in inputs.items()}
    out = fn(**leaves)
    outs = list(out) if isinstance(out, (tuple, list)) else [out]
    floats = [o for o in outs if o.is_floating_point() and o.requires_grad]
    rs = [torch.randn(o.shape) for o in floats]
    grads = None
    if floats:
        loss = sum((o * r).sum() for o, r in zip(floats, rs))
        wrt = [k for k, v in leaves.items() if v.is_floating_point()]
        gs = torch.autograd.grad(loss, [leaves[k] for k in wrt], allow_unused=True)
        grads = {k: T(g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(wrt, gs)}
    cases.append({
        "name": name,
        "inputs": {k: T(v.int() if v.dtype in (torch.int64, torch.bool) else v) for k, v in inputs.items()},
        "outputs": [T(o.int() if o.dtype in (torch.int64, torch.bool) else o) for o in outs],
        "r": [T(r) for r in rs],
        "grads": grads,
    })


def rn(*s):
    return torch.randn(*s)


# ---- pieces and indexing
case("chunk 3 dim 1", lambda x: x.chunk(3, dim=1), x=rn(5, 7))
case("split 3", lambda x: x.split(3), x=rn(7, 4))
case("split sizes dim 1", lambda x: x.split([1, 2, 3], dim=1), x=rn(4, 6))
case("unbind dim 1", lambda x: x.unbind(1), x=rn(3, 4))
case("select 1 -2", lambda x: x.select(1, -2), x=rn(3, 4, 5))
case("index [2, 1]", lambda x: x[2, 1], x=rn(3, 4, 5))
case("roll 2 dim 1", lambda x: x.roll(2, 1), x=rn(3, 5))
case("roll (-1, 7) dims (0, 1)", lambda x: x.roll((-1, 7), (0, 1)), x=rn(3, 5))
case("roll 4 flat", lambda x: x.roll(4), x=rn(3, 5))
case("repeat 2 1 3", lambda x: x.repeat(2, 1, 3), x=rn(2, 3))
case("tile (2,)", lambda x: x.tile((2,)), x=rn(2, 3))
case("tile (2, 1, 2)", lambda x: x.tile((2, 1, 2)), x=rn(2, 3))
case("tril", lambda x: x.tril(), x=rn(4, 5))
case("tril -1", lambda x: x.tril(-1), x=rn(4, 5))
case("triu 1 batched", lambda x: x.triu(1), x=rn(2, 3, 4))
case("masked_fill", lambda x, m: x.masked_fill(m, -1.5), x=rn(3, 4), m=torch.rand(3, 4) > 0.5)
case("masked_fill broadcast", lambda x, m: x.masked_fill(m, 2.0), x=rn(3, 4), m=torch.tensor([True, False, False, True]))
# ---- products
case("outer", lambda a, b: torch.outer(a, b), a=rn(4), b=rn(3))
case("bmm", lambda a, b: torch.bmm(a, b), a=rn(2, 3, 4), b=rn(2, 4, 5))
for eq, shapes in [("ij,jk->ik", [(3, 4), (4, 5)]), ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("ij->ji", [(3, 4)]),
                   ("ij->", [(3, 4)]), ("i,j->ij", [(3,), (4,)]), ("ij,j->i", [(3, 4), (4,)]),
                   ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]), ("ij,ij->i", [(3, 4), (3, 4)]),
                   ("ij,jk", [(3, 4), (4, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]), ("ijk->j", [(2, 3, 4)])]:
    ops = {f"x{i}": rn(*s) for i, s in enumerate(shapes)}
    case(f"einsum {eq}", lambda eq=eq, **xs: torch.einsum(eq, *xs.values()), **ops)
# ---- reductions
zero_row = rn(3, 4)
zero_row[1] = 0
case("norm", lambda x: x.norm(), x=rn(3, 4))
case("norm p 2 dim 1", lambda x: x.norm(2, dim=1), x=zero_row)
case("norm p 1 dim 0 keepdim", lambda x: x.norm(1, dim=0, keepdim=True), x=rn(3, 4))
case("norm p inf dim 1", lambda x: x.norm(math.inf, dim=1), x=rn(3, 4))
case("norm p 3 dim 1", lambda x: x.norm(3, dim=1), x=rn(3, 4))
case("norm fro dims (0, 1)", lambda x: x.norm("fro", dim=(0, 1)), x=rn(2, 3, 4))
with_zeros = rn(3, 5)
with_zeros[0, 2] = 0
with_zeros[2, 1] = 0
with_zeros[2, 3] = 0
case("prod dim 1 with zeros", lambda x: x.prod(1), x=with_zeros)
case("prod", lambda x: x.prod(), x=rn(6))
case("prod dim 0 keepdim", lambda x: x.prod(0, keepdim=True), x=rn(7, 2))
anyall = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, -1.0, 3.0]])
case("any dim 1", lambda x: x.any(1), x=anyall)
case("all dim 1", lambda x: x.all(1), x=anyall)
case("any", lambda x: x.any(), x=anyall)
case("all", lambda x: x.all(), x=anyall)
case("max dim 1", lambda x: tuple(x.max(1)), x=rn(3, 5))
case("min dim 0 keepdim", lambda x: tuple(x.min(0, keepdim=True)), x=rn(3, 5))
# ---- elementwise
ties = torch.cat([torch.tensor([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -3.7]), rn(8) * 3])
case("round", lambda x: x.round(), x=ties)
case("ceil", lambda x: x.ceil(), x=ties)
case("expm1", lambda x: x.expm1(), x=torch.tensor([-1e-5, 1e-4, 0.05, 0.09, 0.11, -0.3, 2.0, -5.0, 1e-7, -0.099]))
case("square", lambda x: x.square(), x=rn(3, 4))
case("reciprocal", lambda x: x.reciprocal(), x=rn(3, 4) + 3)
case("hardtanh", lambda x: F.hardtanh(x), x=rn(12) * 2)
case("hardtanh -0.5 2", lambda x: F.hardtanh(x, -0.5, 2.0), x=rn(12) * 2)
case("relu6", lambda x: F.relu6(x), x=rn(12) * 4)
case("hardswish", lambda x: F.hardswish(x), x=rn(12) * 3)
case("logsigmoid", lambda x: F.logsigmoid(x), x=torch.cat([rn(10) * 5, torch.tensor([-40.0, 40.0, 0.0])]))
case("leaky_relu 0.2", lambda x: F.leaky_relu(x, negative_slope=0.2), x=rn(10))
case("elu 0.7", lambda x: F.elu(x, alpha=0.7), x=rn(10))
case("clamp min", lambda x: x.clamp(min=0.3), x=rn(10))
case("clamp max", lambda x: x.clamp(max=-0.2), x=rn(10))
# ---- kn.F
case("one_hot", lambda x: F.one_hot(x, num_classes=5), x=torch.tensor([[0, 3], [4, 1]]))
case("normalize", lambda x: F.normalize(x), x=rn(3, 4))
case("normalize p 1 dim 0", lambda x: F.normalize(x, p=1.0, dim=0), x=rn(3, 4))
case("cosine_similarity", lambda a, b: F.cosine_similarity(a, b), a=rn(4, 5), b=rn(4, 5))
case("cosine_similarity broadcast dim -1", lambda a, b: F.cosine_similarity(a, b, dim=-1), a=rn(4, 5), b=rn(1, 5))
case("pairwise_distance", lambda a, b: F.pairwise_distance(a, b), a=rn(4, 5), b=rn(4, 5))
case("pairwise_distance p 1 keepdim", lambda a, b: F.pairwise_distance(a, b, p=1.0, keepdim=True), a=rn(4, 5), b=rn(4, 5))
# ---- creation (no inputs)
case("arange 2 5", lambda: torch.arange(2, 5))
case("arange 1 2 0.25", lambda: torch.arange(1, 2, 0.25))
case("arange 5 1 -1.5", lambda: torch.arange(5, 1, -1.5))
case("arange 0.1 1.0 0.3", lambda: torch.arange(0.1, 1.0, 0.3))
case("eye 3", lambda: torch.eye(3))
case("eye 2 4", lambda: torch.eye(2, 4))
case("linspace -1 2 7", lambda: torch.linspace(-1, 2, 7))
case("linspace 0 1 10", lambda: torch.linspace(0, 1, 10))
case("linspace 0.3 -7.1 13", lambda: torch.linspace(0.3, -7.1, 13))

write("surface.json", {"torchVersion": torch.__version__, "description": __doc__.strip(), "cases": cases})
