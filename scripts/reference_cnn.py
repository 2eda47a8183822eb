#!/usr/bin/python3
"""PyTorch reference for the main job's CNN recipe (npm start -- --model cnn): same model,
Adam with a cosine decay to 0 stepped every batch, batch and dropout as given, Fashion-MNIST from
Debian's dataset-fashion-mnist. Prints test accuracy per epoch, for comparing Kiln's run with PyTorch's.
  /usr/bin/python3 scripts/reference_cnn.py EPOCHS BATCH LR DROPOUT [SEED]   (e.g. 3 128 2e-3 0.25)
Measured 2026-11-26 (torch 1.13): 3 128 2e-3 0.25 1 -> 88.70, 90.97, 91.45 %. With one learning
rate per epoch instead (lr * (1 + cos(pi * epoch / EPOCHS)) / 2) the same run gave 88.06, 90.09, 90.73
(seed 1) and 88.76, 89.99, 91.22 (seed 0).
"""
import gzip, numpy as np, torch, torch.nn as nn, math, sys, time
torch.manual_seed(int(sys.argv[5]) if len(sys.argv) > 5 else 0); torch.set_num_threads(2)
D='/usr/share/datasets/fashion-mnist/'
def idx(f):
    b=gzip.open(D+f).read()
    nd=b[3]; dims=[int.from_bytes(b[4+4*i:8+4*i],'big') for i in range(nd)]
    return np.frombuffer(b,dtype=np.uint8,offset=4+4*nd).reshape(dims)
xtr=torch.tensor(idx('train-images-idx3-ubyte.gz'),dtype=torch.float32).div(255).reshape(-1,1,28,28)
ytr=torch.tensor(idx('train-labels-idx1-ubyte.gz'),dtype=torch.long)
xte=torch.tensor(idx('t10k-images-idx3-ubyte.gz'),dtype=torch.float32).div(255).reshape(-1,1,28,28)
yte=torch.tensor(idx('t10k-labels-idx1-ubyte.gz'),dtype=torch.long)
epochs=int(sys.argv[1]); bs=int(sys.argv[2]); lr=float(sys.argv[3]); drop=float(sys.argv[4])
m=nn.Sequential(nn.Conv2d(1,32,3,padding=1),nn.BatchNorm2d(32),nn.ReLU(),nn.MaxPool2d(2),nn.Conv2d(32,64,3,padding=1),nn.BatchNorm2d(64),nn.ReLU(),nn.MaxPool2d(2),nn.Flatten(),nn.Dropout(drop),nn.Linear(3136,128),nn.ReLU(),nn.Linear(128,10))
opt=torch.optim.Adam(m.parameters(),lr=lr)
t=time.time(); steps=epochs*math.ceil(60000/bs); k=0
for ep in range(epochs):
    m.train(); perm=torch.randperm(60000)
    for i in range(0,60000,bs):
        for g in opt.param_groups: g['lr']=lr*0.5*(1+math.cos(math.pi*k/steps))
        k+=1
        b=perm[i:i+bs]; opt.zero_grad(); l=nn.functional.cross_entropy(m(xtr[b]),ytr[b]); l.backward(); opt.step()
    m.eval()
    with torch.no_grad(): acc=(m(xte).argmax(1)==yte).float().mean().item()
    print(ep+1, round(acc*100,2), round(time.time()-t), flush=True)
