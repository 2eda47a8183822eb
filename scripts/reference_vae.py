#!/usr/bin/python3
"""PyTorch reference for the main job's VAE recipe (npm start -- --model vae): the same
784-400-20 VAE (Bernoulli likelihood on logits, analytic KL), Fashion-MNIST binarized at a
fixed threshold (pixel >= 128), Adam, the same batch order (Kiln's DataLoader permutation,
mulberry32, ported below), the same evaluation: per epoch the test ELBO over all 10,000 test
images (one z each) and the importance-weighted NLL with k = 50 on the first 1,000.
  /usr/bin/python3 scripts/reference_vae.py [EPOCHS BATCH LR SEED]   (default 3 128 1e-3 0)
Measured (torch 1.13, 2 shared cores), 2 128 1e-3 0: test ELBO -160.22, -145.51 nats; IW NLL
148.83, 135.69 nats. Kiln (npm start -- --model vae --epochs 2): -159.82, -145.01; 149.38, 135.53.
"""
import gzip
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

epochs, bs, lr, seed = (int(sys.argv[1]) if len(sys.argv) > 1 else 3, int(sys.argv[2]) if len(sys.argv) > 2 else 128,
                        float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3, int(sys.argv[4]) if len(sys.argv) > 4 else 0)
torch.manual_seed(seed)
torch.set_num_threads(2)
IW_K, IW_IMAGES, IW_BATCH, EVAL_BATCH = 50, 1000, 100, 500
D = '/usr/share/datasets/fashion-mnist/'
M32 = 0xFFFFFFFF


def idx(f):
    b = gzip.open(D + f).read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims[0], -1)


def imul(a, b):
    return (a * b) & M32


def mulberry32(seed):
    a = seed & M32

    def rand():
        nonlocal a
        a = (a + 0x6D2B79F5) & M32
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296
    return rand


def epoch_seed(seed, epoch):
    h = (seed ^ imul(epoch + 1, 0x9E3779B9)) & M32
    h = imul(h ^ (h >> 16), 0x85EBCA6B)
    h = imul(h ^ (h >> 13), 0xC2B2AE35)
    return (h ^ (h >> 16)) & M32


def permutation(n, seed):
    """Kiln's DataLoader order (src/train/data.ts): Fisher-Yates driven by mulberry32."""
    p = list(range(n))
    rand = mulberry32(seed)
    for i in range(n - 1, 0, -1):
        j = math.floor(rand() * (i + 1))
        p[i], p[j] = p[j], p[i]
    return torch.tensor(p)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(784, 400), nn.ReLU())
        self.fc_mu = nn.Linear(400, 20)
        self.fc_logvar = nn.Linear(400, 20)
        self.decoder = nn.Sequential(nn.Linear(20, 400), nn.ReLU(), nn.Linear(400, 784))

    def encode(self, x):
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def terms(self, x):
        mu, logvar = self.encode(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        rec = F.binary_cross_entropy_with_logits(self.decoder(z), x, reduction='none').sum(1)
        kl = 0.5 * (mu * mu + logvar.exp() - logvar - 1).sum(1)
        return rec, kl

    def iw_bound(self, x, k):
        mu, logvar = self.encode(x)
        n = x.shape[0]
        eps = torch.randn(k, n, 20)
        z = mu + (0.5 * logvar).exp() * eps
        out = self.decoder(z.reshape(k * n, 20))
        log_px = -F.binary_cross_entropy_with_logits(out, x.repeat(k, 1), reduction='none').sum(1).reshape(k, n)
        log_pz = -0.5 * (z * z).sum(2)
        log_qz = -0.5 * (eps * eps + logvar).sum(2)
        return torch.logsumexp(log_px + log_pz - log_qz, 0) - math.log(k)


xtr = torch.tensor(idx('train-images-idx3-ubyte.gz') >= 128, dtype=torch.float32)
xte = torch.tensor(idx('t10k-images-idx3-ubyte.gz') >= 128, dtype=torch.float32)
print(f'Fashion-MNIST binarized (pixel >= 128): {len(xtr)} training and {len(xte)} test images; torch {torch.__version__}')
model = VAE()
opt = torch.optim.Adam(model.parameters(), lr=lr)
train_secs = 0
for ep in range(epochs):
    t0 = time.time()
    perm = permutation(len(xtr), epoch_seed(seed, ep))
    loss_sum = 0.0
    for i in range(0, len(xtr), bs):
        x = xtr[perm[i:i + bs]]
        rec, kl = model.terms(x)
        loss = (rec + kl).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss_sum += loss.item() * len(x)
    secs = time.time() - t0
    train_secs += secs
    t1 = time.time()
    with torch.no_grad():
        rec_sum = kl_sum = iw_sum = 0.0
        for i in range(0, len(xte), EVAL_BATCH):
            rec, kl = model.terms(xte[i:i + EVAL_BATCH])
            rec_sum += rec.sum().item()
            kl_sum += kl.sum().item()
        for i in range(0, IW_IMAGES, IW_BATCH):
            iw_sum += model.iw_bound(xte[i:i + IW_BATCH], IW_K).sum().item()
    rec, kl = rec_sum / len(xte), kl_sum / len(xte)
    print(f'epoch {ep + 1}: train loss {loss_sum / len(xtr):.2f}, test ELBO {-(rec + kl):.2f} nats (reconstruction {rec:.2f}, KL {kl:.2f}), '
          f'IW NLL {-iw_sum / IW_IMAGES:.2f} nats (k={IW_K}, first {IW_IMAGES} test images); train {secs:.1f} s, eval {time.time() - t1:.1f} s')
steps = epochs * math.ceil(len(xtr) / bs)
print(f'training took {train_secs:.1f} s ({train_secs / epochs:.1f} s per epoch, {train_secs * 1000 / steps:.1f} ms per step)')
