#!/usr/bin/python3
"""Golden vectors for the losses of issue 14: binary cross-entropy (with and without
logits), KL divergence, smooth L1, Huber, cosine embedding, and class weights in
cross-entropy and NLL.

Run with Debian's torch:  /usr/bin/python3 test/golden/gen_losses.py
Writes losses.json: {torchVersion, description, cases: [{name, fn, args, options, loss, r,
grads}]}. `args` are the positional tensors in PyTorch's order ({name, kind, tensor});
`options` uses Kiln's camelCase names, tensors as {shape, data}. `grads[name]` is
d(objective)/d(arg) for each float argument that requires a gradient, where objective =
loss if r is null, else (loss * r).sum(). A null grad means PyTorch's value is not
compared (documented per case).
"""
import warnings

import torch
import torch.nn.functional as F

from golden_json import T, write

torch.set_num_threads(1)
warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
torch.manual_seed(4000)
REDS = ("mean", "sum", "none")
cases = []


def case(name, fn, args, options, kw, call, grad_args=("input",)):
    """args: [(name, kind, tensor)]; kind 'float' (gets a grad if named) or 'index'."""
    ts = {}
    for (n, kind, t) in args:
        t = t.detach().clone()
        if kind == "float" and n in grad_args:
            t.requires_grad_(True)
        ts[n] = t
    loss = call(*ts.values(), **kw)
    r = torch.randn(loss.shape) if loss.dim() > 0 else None
    if grad_args:
        (loss if r is None else (loss * r).sum()).backward()
    cases.append({
        "name": name, "fn": fn,
        "args": [{"name": n, "kind": kind, "tensor": T(ts[n])} for (n, kind, _) in args],
        "options": options, "loss": T(loss), "r": T(r),
        "grads": {n: T(ts[n].grad) for n in grad_args},
    })


def opts(red, **extra):
    """(Kiln options, PyTorch keywords): extra maps camelCase -> (snake_case, value)."""
    o, kw = {"reduction": red}, {"reduction": red}
    for k, (pk, v) in extra.items():
        o[k] = T(v) if torch.is_tensor(v) else v
        kw[pk] = v
    return o, kw


# binary cross-entropy on probabilities in (0, 1), with an elementwise weight
for shape in [(4, 3), (7,), (2, 3, 4)]:
    tag = "x".join(map(str, shape))
    p = torch.rand(shape) * 0.98 + 0.01
    y = torch.rand(shape)
    y.view(-1)[::2] = (y.view(-1)[::2] > 0.5).float()
    w = torch.rand(shape[-1]) * 2
    for red in REDS:
        o, kw = opts(red)
        case(f"bce_{tag}_{red}", "binary_cross_entropy",
             [("input", "float", p), ("target", "float", y)], o, kw, F.binary_cross_entropy)
        o, kw = opts(red, weight=("weight", w))
        case(f"bce_{tag}_weight_{red}", "binary_cross_entropy",
             [("input", "float", p), ("target", "float", y)], o, kw, F.binary_cross_entropy)
# log clamped at -100: inputs 0 and 1 give finite losses (values only: PyTorch's gradient
# there divides by max(x (1 - x), 1e-12), a formula autodiff of the clamp does not follow)
edge_x = torch.tensor([0.0, 1.0, 0.0, 1.0, 1e-30, 0.5])
edge_y = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.25])
o, kw = opts("none")
case("bce_clamp_none", "binary_cross_entropy", [("input", "float", edge_x), ("target", "float", edge_y)],
     o, kw, F.binary_cross_entropy, grad_args=())

# BCE with logits: weight and pos_weight, and logits far out in both tails
for shape in [(5, 3), (2, 3, 3)]:
    tag = "x".join(map(str, shape))
    x = torch.randn(shape) * 3
    x.view(-1)[0], x.view(-1)[1] = 60.0, -60.0
    y = (torch.rand(shape) > 0.5).float()
    w, pw = torch.rand(shape[-1]) * 2, torch.rand(shape[-1]) * 3 + 0.25
    for red in REDS:
        o, kw = opts(red, weight=("weight", w), posWeight=("pos_weight", pw))
        case(f"bce_logits_{tag}_weight_posweight_{red}", "binary_cross_entropy_with_logits",
             [("input", "float", x), ("target", "float", y)], o, kw, F.binary_cross_entropy_with_logits)
    o, kw = opts("mean", weight=("weight", w))
    case(f"bce_logits_{tag}_weight_mean", "binary_cross_entropy_with_logits",
         [("input", "float", x), ("target", "float", y)], o, kw, F.binary_cross_entropy_with_logits)

# KL divergence: log-probability inputs, probability targets with exact zeros, or log targets
for shape in [(4, 5), (2, 3, 4)]:
    tag = "x".join(map(str, shape))
    logp = F.log_softmax(torch.randn(shape), dim=-1)
    q = torch.softmax(torch.randn(shape) * 2, dim=-1)
    q.view(-1)[::7] = 0.0
    logq = F.log_softmax(torch.randn(shape), dim=-1)
    for red in REDS + ("batchmean",):
        o, kw = opts(red)
        # no target gradient here: PyTorch's is log(0) + 1 = -inf at the zeros
        case(f"kl_{tag}_{red}", "kl_div", [("input", "float", logp), ("target", "float", q)],
             o, kw, F.kl_div)
        o, kw = opts(red, logTarget=("log_target", True))
        case(f"kl_{tag}_logtarget_{red}", "kl_div", [("input", "float", logp), ("target", "float", logq)],
             o, kw, F.kl_div, grad_args=("input", "target"))

# smooth L1 and Huber: differences on both sides of beta / delta
a, b = torch.randn(6, 4) * 2, torch.randn(6, 4)
for beta in (1.0, 0.5, 0.0):
    for red in REDS:
        o, kw = opts(red, beta=("beta", beta))
        case(f"smooth_l1_beta{beta}_{red}", "smooth_l1_loss", [("input", "float", a), ("target", "float", b)],
             o, kw, F.smooth_l1_loss, grad_args=("input", "target"))
for delta in (1.0, 0.3, 2.5):
    for red in REDS:
        o, kw = opts(red, delta=("delta", delta))
        case(f"huber_delta{delta}_{red}", "huber_loss", [("input", "float", a), ("target", "float", b)],
             o, kw, F.huber_loss, grad_args=("input", "target"))

# cosine embedding: targets +1 and -1, margins, an unbatched pair
x1, x2 = torch.randn(6, 5), torch.randn(6, 5)
y = torch.tensor([1, -1, 1, -1, -1, 1])
for margin in (0.0, 0.3, -0.2):
    for red in REDS:
        o, kw = opts(red, margin=("margin", margin))
        case(f"cosine_embedding_m{margin}_{red}", "cosine_embedding_loss",
             [("input1", "float", x1), ("input2", "float", x2), ("target", "index", y)],
             o, kw, F.cosine_embedding_loss, grad_args=("input1", "input2"))
for t in (1, -1):
    o, kw = opts("mean")
    case(f"cosine_embedding_unbatched_y{t}", "cosine_embedding_loss",
         [("input1", "float", x1[0]), ("input2", "float", x2[0] + x1[0]), ("target", "index", torch.tensor(t))],
         o, kw, F.cosine_embedding_loss, grad_args=("input1", "input2"))

# class weights in cross_entropy and nll_loss: index and probability targets, smoothing,
# ignore_index, K-dimensional inputs, an unbatched row
C = 4
w = torch.rand(C) * 2 + 0.1
logits = torch.randn(7, C) * 2
idx = torch.randint(0, C, (7,))
ign = idx.clone()
ign[1::3] = 2  # ignore_index 2 drops every third row starting at 1
probs = torch.softmax(torch.randn(7, C), dim=1)
logits4 = torch.randn(2, C, 3, 2)
idx4 = torch.randint(0, C, (2, 3, 2))
for red in REDS:
    for ls in (0.0, 0.2):
        o, kw = opts(red, weight=("weight", w), labelSmoothing=("label_smoothing", ls))
        case(f"ce_weight_ls{ls}_{red}", "cross_entropy", [("input", "float", logits), ("target", "index", idx)], o, kw, F.cross_entropy)
        o, kw = opts(red, weight=("weight", w), labelSmoothing=("label_smoothing", ls), ignoreIndex=("ignore_index", 2))
        case(f"ce_weight_ls{ls}_ignore2_{red}", "cross_entropy", [("input", "float", logits), ("target", "index", ign)], o, kw, F.cross_entropy)
        o, kw = opts(red, weight=("weight", w), labelSmoothing=("label_smoothing", ls))
        case(f"ce_weight_probs_ls{ls}_{red}", "cross_entropy", [("input", "float", logits), ("target", "float", probs)], o, kw, F.cross_entropy)
    o, kw = opts(red, weight=("weight", w))
    case(f"ce_weight_4d_{red}", "cross_entropy", [("input", "float", logits4), ("target", "index", idx4)], o, kw, F.cross_entropy)
    case(f"nll_weight_{red}", "nll_loss", [("input", "float", F.log_softmax(logits, 1)), ("target", "index", idx)], o, kw, F.nll_loss)
    case(f"nll_weight_4d_{red}", "nll_loss", [("input", "float", F.log_softmax(logits4, 1)), ("target", "index", idx4)], o, kw, F.nll_loss)
    o, kw = opts(red, weight=("weight", w), ignoreIndex=("ignore_index", 2))
    case(f"nll_weight_ignore2_{red}", "nll_loss", [("input", "float", F.log_softmax(logits, 1)), ("target", "index", ign)], o, kw, F.nll_loss)
o, kw = opts("mean", weight=("weight", w), labelSmoothing=("label_smoothing", 0.1))
case("ce_weight_unbatched_mean", "cross_entropy", [("input", "float", logits[0]), ("target", "index", idx[0])], o, kw, F.cross_entropy)

names = [c["name"] for c in cases]
assert len(names) == len(set(names)), "duplicate case names"
write("losses.json", {
    "torchVersion": torch.__version__,
    "description": "loss = fn(*args, **options); grads[name] = d(objective)/d(arg), "
                   "objective = loss if r is null, else (loss * r).sum()",
    "cases": cases,
})
