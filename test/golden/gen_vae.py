"""Golden vectors for src/generative (vae.json): the ELBO terms, reparameterization, the
importance-weighted bound on fixed noise, a small (conditional) VAE module, and the Frechet
distance against an independent float64 reference (numpy's general eigenvalue solver on
C1 @ C2, not the symmetric Jacobi form Kiln uses).

    /usr/bin/python3 test/golden/gen_vae.py
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_json import T, S, write

torch.manual_seed(16)
torch.set_num_threads(1)


def rec_nll(out, x, likelihood, sigma):
    """-log p(x | out) per sample, summed over features."""
    if likelihood == "bernoulli":
        return F.binary_cross_entropy_with_logits(out, x, reduction="none").flatten(1).sum(1)
    r = (x - out) / sigma
    return (0.5 * r * r + math.log(sigma) + 0.5 * math.log(2 * math.pi)).flatten(1).sum(1)


def kl(mu, logvar):
    return 0.5 * (mu * mu + logvar.exp() - logvar - 1).sum(1)


def elbo_case(name, likelihood, beta, sigma, n=4, d=6, l=3, dtype=torch.float32):
    g = torch.Generator().manual_seed(len(name))
    out = torch.randn(n, d, generator=g) * 2
    x = (torch.rand(n, d, generator=g) > 0.5).float() if likelihood == "bernoulli" else torch.rand(n, d, generator=g)
    mu = torch.randn(n, l, generator=g)
    logvar = torch.randn(n, l, generator=g) * 0.7
    eps = torch.randn(n, l, generator=g)

    def compute(dt):
        o, m, lv = (t.to(dt).clone().requires_grad_() for t in (out, mu, logvar))
        rec, k = rec_nll(o, x.to(dt), likelihood, sigma), kl(m, lv)
        loss = (rec + beta * k).mean()
        loss.backward()
        return rec, k, loss, o.grad, m.grad, lv.grad

    rec, k, loss, go, gm, glv = compute(torch.float32)
    rec64, k64, loss64, *_ = compute(torch.float64)
    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    z = m + (0.5 * lv).exp() * eps
    (z * torch.arange(1.0, n * l + 1).reshape(n, l)).sum().backward()
    case = {
        "name": name, "likelihood": likelihood, "beta": beta, "sigma": sigma,
        "output": T(out), "x": T(x), "mu": T(mu), "logvar": T(logvar),
        "reconstruction": T(rec), "kl": T(k), "elbo": S(-(rec + k).mean()), "loss": S(loss),
        "reconstructionMean": S(rec.mean()), "klMean": S(k.mean()),
        "lossF64": float(loss64), "elboF64": float(-(rec64 + k64).mean()),
        "gradOutput": T(go), "gradMu": T(gm), "gradLogvar": T(glv),
        "eps": T(eps), "z": T(z), "zGradMu": T(m.grad), "zGradLogvar": T(lv.grad),
    }
    return case


def iwae(decoder, x, mu, logvar, eps, likelihood="bernoulli", sigma=1.0):
    k, n, l = eps.shape
    z = mu.unsqueeze(0) + (0.5 * logvar).exp().unsqueeze(0) * eps
    out = decoder(z.reshape(k * n, l))
    xs = x.unsqueeze(0).expand(k, *x.shape).reshape(k * n, *x.shape[1:])
    log_px = -rec_nll(out, xs, likelihood, sigma).reshape(k, n)
    log_pz = -0.5 * (z * z).sum(2) - 0.5 * l * math.log(2 * math.pi)
    log_qz = -0.5 * (eps * eps + logvar.unsqueeze(0)).sum(2) - 0.5 * l * math.log(2 * math.pi)
    lw = log_px + log_pz - log_qz
    return torch.logsumexp(lw, 0) - math.log(k)


def iwae_case(name, k, scale, likelihood="bernoulli", sigma=1.0, n=4, d=6, l=3):
    g = torch.Generator().manual_seed(100 + len(name))
    w = torch.randn(d, l, generator=g) * scale
    b = torch.randn(d, generator=g)
    x = (torch.rand(n, d, generator=g) > 0.5).float()
    mu = torch.randn(n, l, generator=g)
    logvar = torch.randn(n, l, generator=g) * 0.5
    eps = torch.randn(k, n, l, generator=g)

    def compute(dt):
        ts = [t.to(dt).clone().requires_grad_() for t in (w, b, mu, logvar)]
        bound = iwae(lambda z: z @ ts[0].T + ts[1], x.to(dt), ts[2], ts[3], eps.to(dt), likelihood, sigma)
        bound.mean().backward()
        return bound, [t.grad for t in ts]

    bound, grads = compute(torch.float32)
    bound64, _ = compute(torch.float64)
    return {
        "name": name, "k": k, "likelihood": likelihood, "sigma": sigma,
        "weight": T(w), "bias": T(b), "x": T(x), "mu": T(mu), "logvar": T(logvar), "eps": T(eps),
        "bound": T(bound), "boundF64": bound64.tolist(), "mean": S(bound.mean()),
        "gradWeight": T(grads[0]), "gradBias": T(grads[1]), "gradMu": T(grads[2]), "gradLogvar": T(grads[3]),
    }


class VAE(nn.Module):
    """The architecture of kn.generative.VAE: encoder = Sequential(Linear, ReLU, ...), fc_mu, fc_logvar."""

    def __init__(self, input_size, hidden, latent, num_classes=0):
        super().__init__()
        c = num_classes
        self.num_classes = c
        self.encoder = nn.Sequential(nn.Linear(input_size + c, hidden), nn.ReLU())
        self.fc_mu = nn.Linear(hidden, latent)
        self.fc_logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(nn.Linear(latent + c, hidden), nn.ReLU(), nn.Linear(hidden, input_size))

    def cond(self, h, y):
        return h if y is None else torch.cat([h, F.one_hot(y, self.num_classes).float()], 1)

    def encode(self, x, y=None):
        h = self.encoder(self.cond(x, y))
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z, y=None):
        return self.decoder(self.cond(z, y))


def module_case(name, num_classes, k=4, n=3, d=6, h=5, l=2):
    torch.manual_seed(200 + num_classes)
    model = VAE(d, h, l, num_classes)
    x = (torch.rand(n, d) > 0.5).float()
    y = torch.randint(0, num_classes, (n,)) if num_classes else None
    eps = torch.randn(k, n, l)
    mu, logvar = model.encode(x, y)
    ys = None if y is None else y.repeat(k)
    bound = iwae(lambda z: model.decode(z, ys), x, mu, logvar, eps)
    bound.mean().backward()
    return {
        "name": name, "numClasses": num_classes, "inputSize": d, "hidden": h, "latent": l,
        "params": {k2: T(v) for k2, v in model.state_dict().items()},
        "x": T(x), "y": None if y is None else y.tolist(), "eps": T(eps),
        "mu": T(mu), "logvar": T(logvar), "bound": T(bound), "mean": S(bound.mean()),
        "grads": {k2: T(p.grad) for k2, p in model.named_parameters()},
    }


def frechet_ref(a, b):
    """Float64, numpy only: tr sqrtm(C1 C2) from the general (non-symmetric) eigenvalues of C1 @ C2."""
    m1, m2 = a.mean(0), b.mean(0)
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    ev = np.linalg.eigvals(c1 @ c2)
    tr_sqrt = np.sqrt(np.clip(ev.real, 0, None)).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * tr_sqrt)


def frechet_case(name, n1, n2, d, seed):
    rng = np.random.default_rng(seed)
    mix1, mix2 = rng.normal(size=(d, d)), rng.normal(size=(d, d)) * 0.5 + np.eye(d)
    a = rng.normal(size=(n1, d)) @ mix1
    b = rng.normal(size=(n2, d)) @ mix2 + rng.normal(size=d)
    return {"name": name, "d": d, "real": {"n": n1, "data": a.reshape(-1).tolist()},
            "fake": {"n": n2, "data": b.reshape(-1).tolist()}, "distance": frechet_ref(a, b)}


write("vae.json", {
    "torchVersion": torch.__version__,
    "description": "ELBO terms, reparameterization, importance-weighted bound, VAE module, Frechet distance",
    "elbo": [
        elbo_case("bernoulli", "bernoulli", 1.0, None),
        elbo_case("bernoulli beta 4", "bernoulli", 4.0, None),
        elbo_case("gaussian sigma 0.7 beta 0.5", "gaussian", 0.5, 0.7),
        elbo_case("gaussian sigma 1", "gaussian", 1.0, 1.0),
    ],
    "iwae": [
        iwae_case("k 5", 5, 1.0),
        iwae_case("k 1 (the ELBO)", 1, 1.0),
        # logits of size 60: log weights near -100s, where a naive mean of exp underflows
        iwae_case("k 7 extreme logits", 7, 30.0),
        iwae_case("k 3 gaussian", 3, 1.0, "gaussian", 0.5),
    ],
    "module": [module_case("vae", 0), module_case("conditional vae", 3)],
    "frechet": [
        frechet_case("d 8", 40, 30, 8, 1),
        frechet_case("d 24", 80, 100, 24, 2),
        # fewer samples than features: singular covariances
        frechet_case("d 16 singular", 10, 12, 16, 3),
    ],
})
