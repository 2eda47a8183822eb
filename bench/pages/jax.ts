// Page: jax-js (@jax-js/jax) on its WebGPU device; the training step is one jit-compiled function.
// jax-js arrays are reference counted: every function consumes its arguments, `.ref` keeps one alive.
import { blockUntilReady, defaultDevice, init as jaxInit, jit, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import { adapterInfo, expose, matmulInputs, MLP, mlpData, mlpParams, timeMatmul, timeMlp } from './common';

let ready: Promise<void> | undefined;
function init(): Promise<void> {
  ready ??= (async () => {
    const devices = await jaxInit();
    if (!devices.includes('webgpu')) throw new Error(`jax-js has no webgpu device (devices: ${devices.join(', ')})`);
    defaultDevice('webgpu');
  })();
  return ready;
}

type Params = { w1: np.Array; b1: np.Array; w2: np.Array; b2: np.Array; w3: np.Array; b3: np.Array };

function lossFn(p: Params, x: np.Array, y: np.Array): np.Array {
  const h1 = nn.relu(np.matmul(x, p.w1).add(p.b1));
  const h2 = nn.relu(np.matmul(h1, p.w2).add(p.b2));
  const logits = np.matmul(h2, p.w3).add(p.b3);
  return nn.logSoftmax(logits, -1).mul(y).sum().mul(-1 / MLP.batch); // mean softmax cross-entropy, one-hot y
}

const B1 = 0.9, B2 = 0.999, EPS = 1e-8;

/** One Adam step (PyTorch's formulation), bias corrections computed on the device from the step count t. */
function trainStep(p: Params, m: Params, v: Params, t: np.Array, x: np.Array, y: np.Array) {
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), x, y) as [np.Array, Params];
  const t1 = t.add(1);
  const bc1 = np.exp(t1.ref.mul(Math.log(B1))).neg().add(1); // 1 - b1^t
  const bc2 = np.exp(t1.ref.mul(Math.log(B2))).neg().add(1); // 1 - b2^t
  const pN = {} as Params, mN = {} as Params, vN = {} as Params;
  for (const k of Object.keys(p) as (keyof Params)[]) {
    const gk = g[k];
    const mk = m[k].mul(B1).add(gk.ref.mul(1 - B1));
    const vk = v[k].mul(B2).add(gk.ref.mul(gk).mul(1 - B2));
    const mHat = mk.ref.div(bc1.ref);
    const vHat = vk.ref.div(bc2.ref);
    pN[k] = p[k].sub(mHat.mul(MLP.lr).div(np.sqrt(vHat).add(EPS)));
    mN[k] = mk;
    vN[k] = vk;
  }
  bc1.dispose();
  bc2.dispose();
  return [pN, mN, vN, t1, loss] as [Params, Params, Params, np.Array, np.Array];
}

expose({
  adapter: adapterInfo,
  async matmul(n, o) {
    await init();
    const { a, b } = matmulInputs(n);
    const A = np.array(a, { shape: [n, n] }), B = np.array(b, { shape: [n, n] });
    await blockUntilReady([A, B]); // does not consume its argument
    const mm = jit((x: np.Array, w: np.Array) => np.matmul(x, w));
    try {
      return await timeMatmul(n, async (k) => {
        let x = A.ref;
        for (let i = 0; i < k; i++) x = mm(x, B.ref);
        await x.data(); // consumes x
      }, o, 'jit(np.matmul)');
    } finally {
      A.dispose(); B.dispose(); mm.dispose();
    }
  },
  mlp: (o) => timeMlp(async () => {
    await init();
    const { x: xd, yOneHot } = mlpData();
    const x = np.array(xd, { shape: [MLP.batch, 784] });
    const y = np.array(yOneHot, { shape: [MLP.batch, 10] });
    const ps = mlpParams();
    let p: Params = {
      w1: np.array(ps[0].w, { shape: [784, 256] }), b1: np.array(ps[0].b, { shape: [256] }),
      w2: np.array(ps[1].w, { shape: [256, 256] }), b2: np.array(ps[1].b, { shape: [256] }),
      w3: np.array(ps[2].w, { shape: [256, 10] }), b3: np.array(ps[2].b, { shape: [10] }),
    };
    const zerosLike = (q: Params) => Object.fromEntries(Object.entries(q).map(([k, a]) => [k, np.zeros(a.shape)])) as Params;
    let m = zerosLike(p), v = zerosLike(p);
    let t = np.zeros([]);
    await blockUntilReady([p, m, v, t, x, y]); // does not consume its argument
    const step = jit(trainStep);
    let losses: np.Array[] = [];
    return {
      step() {
        let loss: np.Array;
        [p, m, v, t, loss] = step(p, m, v, t, x.ref, y.ref);
        losses.push(loss);
      },
      async sync() {
        const last = losses.pop()!;
        await blockUntilReady([...losses, p, m, v, t]);
        for (const l of losses) l.dispose();
        losses = [];
        return (await last.data())[0];
      },
      note: 'jit(valueAndGrad + Adam written in jax-js), one-hot labels',
    };
  }, o),
});
