# Golden vectors for cumsum, cumprod, sort, argsort, topk, scatter, scatterAdd and indexAdd
# (test/ordered.test.ts): values and input gradients from PyTorch. Run with Debian's
# python3-torch: /usr/bin/python3 test/golden/gen_ordered.py
import json, math, os
import torch
from golden_json import with_counts

torch.manual_seed(0)
cases = []

def num(v):
    v = float(v)
    return 'nan' if math.isnan(v) else ('inf' if v == math.inf else ('-inf' if v == -math.inf else v))

def flat(t):
    return [num(v) for v in t.detach().reshape(-1).tolist()]

def add(name, op, x, out, grads=None, **kw):
    c = {'name': name, 'op': op, 'x': flat(x), 'shape': list(x.shape), 'out': [flat(o) for o in out], **kw}
    if grads is not None: c['grads'] = grads
    cases.append(c)

def weighted_grad(fn, inputs, out_index=0):
    # gradient of sum(out * w) for a fixed random weight w
    for t in inputs: t.requires_grad_(True)
    out = fn(*inputs)
    o = out[out_index] if isinstance(out, tuple) else out
    w = torch.randn(o.shape, dtype=torch.float64)
    (o * w).sum().backward()
    return flat(w), [flat(t.grad) for t in inputs]

# cumsum / cumprod, both dims, with zeros for cumprod
for dim in [0, 1, -1]:
    x = torch.randn(3, 5, dtype=torch.float64)
    w, g = weighted_grad(lambda t: torch.cumsum(t, dim), [x])
    add(f'cumsum dim {dim}', 'cumsum', x, [torch.cumsum(x, dim)], dim=dim, w=w, grads=g)
x = torch.tensor([[2., 0., 3., -1.], [0., 0., 1.5, 2.], [1., 2., 3., 0.5]], dtype=torch.float64)
for dim in [1, 0]:
    w, g = weighted_grad(lambda t: torch.cumprod(t, dim), [x.clone()])
    add(f'cumprod with zeros dim {dim}', 'cumprod', x, [torch.cumprod(x, dim)], dim=dim, w=w, grads=g)
xi = torch.tensor([[1, -2, 3], [4, 5, -6]], dtype=torch.int32)
add('cumsum int32', 'cumsum', xi, [torch.cumsum(xi, 1)], dim=1, dtype='int32')

# sort / argsort: duplicates, NaN, infinities; stable
xs = torch.tensor([[3., 1., float('nan'), 1., -float('inf'), 2., 3., 0.],
                   [0.5, float('nan'), -1., float('inf'), 0.5, 0.5, -2., float('nan')]], dtype=torch.float64)
for desc in [False, True]:
    for dim in [1, 0]:
        v, i = torch.sort(xs, dim=dim, descending=desc, stable=True)
        add(f'sort desc={desc} dim {dim}', 'sort', xs, [v, i], dim=dim, descending=desc)
xr = torch.randn(4, 6, dtype=torch.float64)
w, g = weighted_grad(lambda t: torch.sort(t, dim=1, descending=True), [xr.clone()])
v, i = torch.sort(xr, dim=1, descending=True, stable=True)
add('sort grad', 'sort', xr, [v, i], dim=1, descending=True, w=w, grads=g)
xsi = torch.tensor([[5, 1, 5, -3, 0, 1]], dtype=torch.int32)
v, i = torch.sort(xsi, dim=1, stable=True)
add('sort int32', 'sort', xsi, [v, i], dim=1, descending=False, dtype='int32')

# topk
xt = torch.randn(3, 7, dtype=torch.float64)
for largest in [True, False]:
    for dim, k in [(1, 3), (0, 2)]:
        w, g = weighted_grad(lambda t: torch.topk(t, k, dim=dim, largest=largest), [xt.clone()])
        v, i = torch.topk(xt, k, dim=dim, largest=largest)
        add(f'topk k={k} dim {dim} largest={largest}', 'topk', xt, [v, i], dim=dim, k=k, largest=largest, w=w, grads=g)

# scatterAdd with duplicate indices (and an index smaller than the input in the other dim)
xa = torch.randn(4, 5, dtype=torch.float64)
src = torch.randn(3, 5, dtype=torch.float64)
idx = torch.tensor([[0, 1, 3, 3, 2], [3, 1, 0, 0, 2], [0, 0, 3, 1, 1]])
w, g = weighted_grad(lambda a, s: a.scatter_add(0, idx, s), [xa.clone(), src.clone()])
add('scatterAdd dim 0', 'scatterAdd', xa, [xa.scatter_add(0, idx, src)], dim=0, index=idx.tolist(), src=flat(src), srcShape=list(src.shape), w=w, grads=g)
idx1 = torch.tensor([[4, 0, 4], [1, 1, 2]])
src1 = torch.randn(2, 3, dtype=torch.float64)
xa1 = torch.randn(3, 5, dtype=torch.float64)
w, g = weighted_grad(lambda a, s: a.scatter_add(1, idx1, s), [xa1.clone(), src1.clone()])
add('scatterAdd dim 1, smaller index', 'scatterAdd', xa1, [xa1.scatter_add(1, idx1, src1)], dim=1, index=idx1.tolist(), src=flat(src1), srcShape=list(src1.shape), w=w, grads=g)

# scatter without duplicates (PyTorch leaves the duplicate case unspecified)
xs2 = torch.randn(3, 4, dtype=torch.float64)
srcs = torch.randn(2, 4, dtype=torch.float64)
idxs = torch.tensor([[2, 0, 1, 1], [0, 2, 2, 0]])
w, g = weighted_grad(lambda a, s: a.scatter(0, idxs, s), [xs2.clone(), srcs.clone()])
add('scatter dim 0', 'scatter', xs2, [xs2.scatter(0, idxs, srcs)], dim=0, index=idxs.tolist(), src=flat(srcs), srcShape=list(srcs.shape), w=w, grads=g)
add('scatter value', 'scatterValue', xs2, [xs2.scatter(0, idxs, -7.5)], dim=0, index=idxs.tolist(), value=-7.5)

# indexAdd with repeats and alpha
xi2 = torch.randn(4, 3, dtype=torch.float64)
srci = torch.randn(5, 3, dtype=torch.float64)
ii = torch.tensor([0, 3, 0, 2, 3])
w, g = weighted_grad(lambda a, s: a.index_add(0, ii, s, alpha=0.5), [xi2.clone(), srci.clone()])
add('indexAdd dim 0 alpha 0.5', 'indexAdd', xi2, [xi2.index_add(0, ii, srci, alpha=0.5)], dim=0, index=ii.tolist(), src=flat(srci), srcShape=list(srci.shape), alpha=0.5, w=w, grads=g)
xi3 = torch.randn(2, 4, dtype=torch.float64)
srci3 = torch.randn(2, 2, dtype=torch.float64)
ii3 = torch.tensor([3, 3])
w, g = weighted_grad(lambda a, s: a.index_add(1, ii3, s), [xi3.clone(), srci3.clone()])
add('indexAdd dim 1', 'indexAdd', xi3, [xi3.index_add(1, ii3, srci3)], dim=1, index=ii3.tolist(), src=flat(srci3), srcShape=list(srci3.shape), alpha=1, w=w, grads=g)

out = os.path.join(os.path.dirname(__file__), 'ordered.json')
with open(out, 'w') as f:
    json.dump(with_counts({'torch': torch.__version__, 'count': len(cases), 'cases': cases}), f)
print(f'{out}: {len(cases)} cases')
