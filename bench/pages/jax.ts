// Page: jax-js (@jax-js/jax) on its WebGPU device; the training step is one jit-compiled function.
// jax-js arrays are reference counted: every function consumes its arguments, `.ref` keeps one alive.
import { blockUntilReady, defaultDevice, grad, init as jaxInit, jit, lax, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import {
  adapterInfo, ATTN, attnInputs, attnShape, CNN, cnnData, cnnParams, CONV_SHAPES, convFlops, convInputs, convOutShape, expose, head4, matmulInputs,
  MLP, mlpData, mlpInferInput, mlpParams, timeChain, timeMatmul, timeMlp, transpose, type TimingOpts, withNote,
} from './common';

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

/** One Adam update (PyTorch's formulation) of every entry of p, bias corrections computed on the device from the step count t. */
function adam<P extends Record<string, np.Array>>(p: P, m: P, v: P, t: np.Array, g: P, lr: number): [P, P, P, np.Array] {
  const t1 = t.add(1);
  const bc1 = np.exp(t1.ref.mul(Math.log(B1))).neg().add(1); // 1 - b1^t
  const bc2 = np.exp(t1.ref.mul(Math.log(B2))).neg().add(1); // 1 - b2^t
  const pN = {} as Record<string, np.Array>, mN = {} as Record<string, np.Array>, vN = {} as Record<string, np.Array>;
  for (const k of Object.keys(p) as (keyof P & string)[]) {
    const gk = g[k];
    const mk = m[k].mul(B1).add(gk.ref.mul(1 - B1));
    const vk = v[k].mul(B2).add(gk.ref.mul(gk).mul(1 - B2));
    const mHat = mk.ref.div(bc1.ref);
    const vHat = vk.ref.div(bc2.ref);
    pN[k] = p[k].sub(mHat.mul(lr).div(np.sqrt(vHat).add(EPS)));
    mN[k] = mk;
    vN[k] = vk;
  }
  bc1.dispose();
  bc2.dispose();
  return [pN as P, mN as P, vN as P, t1];
}

function trainStep(p: Params, m: Params, v: Params, t: np.Array, x: np.Array, y: np.Array) {
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(p), x, y) as [np.Array, Params];
  const [pN, mN, vN, t1] = adam(p, m, v, t, g, MLP.lr);
  return [pN, mN, vN, t1, loss] as [Params, Params, Params, np.Array, np.Array];
}

// ---------------------------------------------------------------- CNN
// NCHW like Kiln. jax-js has no batch-norm or max-pool layer: batch norm is written with mean /
// variance ops, max pool is lax.reduceWindow(max) over 2x2 windows, stride 2.
type CnnParams = {
  c1w: np.Array; c1b: np.Array; g1: np.Array; be1: np.Array; c2w: np.Array; c2b: np.Array; g2: np.Array; be2: np.Array;
  f1w: np.Array; f1b: np.Array; f2w: np.Array; f2b: np.Array;
};
type CnnStats = { rm1: np.Array; rv1: np.Array; rm2: np.Array; rv2: np.Array };
const PAD1: [number, number][] = [[1, 1], [1, 1]];
const chan = (a: np.Array, c: number) => a.reshape([1, c, 1, 1]);
const maxPool2 = (h: np.Array) => lax.reduceWindow(h, (win: np.Array) => np.max(win), [2, 2], [2, 2]);

/** conv + bias + batch norm (batch statistics) + relu + pool; returns the block output and the batch mean / biased variance [C]. */
function blockTrain(x: np.Array, w: np.Array, b: np.Array, g: np.Array, be: np.Array, c: number): [np.Array, np.Array, np.Array] {
  const h = lax.conv(x, w, [1, 1], PAD1).add(chan(b, c));
  const mean = h.ref.mean([0, 2, 3], { keepdims: true });
  const d = h.sub(mean.ref);
  const v = np.square(d.ref).mean([0, 2, 3], { keepdims: true });
  const y = d.div(np.sqrt(v.ref.add(CNN.eps))).mul(chan(g, c)).add(chan(be, c));
  return [maxPool2(nn.relu(y)), mean.reshape([c]), v.reshape([c])];
}
function blockEval(x: np.Array, w: np.Array, b: np.Array, g: np.Array, be: np.Array, rm: np.Array, rv: np.Array, c: number): np.Array {
  const h = lax.conv(x, w, [1, 1], PAD1).add(chan(b, c));
  const y = h.sub(chan(rm, c)).div(np.sqrt(chan(rv, c).add(CNN.eps))).mul(chan(g, c)).add(chan(be, c));
  return maxPool2(nn.relu(y));
}
function head(h: np.Array, p: Pick<CnnParams, 'f1w' | 'f1b' | 'f2w' | 'f2b'>): np.Array {
  const f = nn.relu(np.matmul(h.reshape([h.shape[0], 3136]), p.f1w).add(p.f1b));
  return np.matmul(f, p.f2w).add(p.f2b);
}
function cnnLoss(p: CnnParams, x: np.Array, y: np.Array): [np.Array, np.Array[]] {
  const [h1, m1, v1] = blockTrain(x, p.c1w, p.c1b, p.g1, p.be1, 32);
  const [h2, m2, v2] = blockTrain(h1, p.c2w, p.c2b, p.g2, p.be2, 64);
  const logits = head(h2, p);
  const loss = nn.logSoftmax(logits, -1).mul(y).sum().mul(-1 / CNN.batch);
  return [loss, [m1, v1, m2, v2]];
}
function cnnForwardEval(p: CnnParams, s: CnnStats, x: np.Array): np.Array {
  const h1 = blockEval(x, p.c1w, p.c1b, p.g1, p.be1, s.rm1, s.rv1, 32);
  const h2 = blockEval(h1, p.c2w, p.c2b, p.g2, p.be2, s.rm2, s.rv2, 64);
  return head(h2, p);
}
/** One step: loss, gradients and batch statistics; Adam; running statistics (momentum 0.1, unbiased variance). */
function cnnTrainStep(p: CnnParams, m: CnnParams, v: CnnParams, t: np.Array, s: CnnStats, x: np.Array, y: np.Array) {
  const [[loss, [m1, v1, m2, v2]], g] = valueAndGrad(cnnLoss, { hasAux: true })(tree.ref(p), x, y) as unknown as [[np.Array, np.Array[]], CnnParams];
  const [pN, mN, vN, t1] = adam(p, m, v, t, g, CNN.lr);
  const mom = CNN.momentum;
  const run = (r: np.Array, b: np.Array, f: number) => r.mul(1 - mom).add(b.mul(mom * f));
  const n1 = CNN.batch * 28 * 28, n2 = CNN.batch * 14 * 14;
  const sN: CnnStats = { rm1: run(s.rm1, m1, 1), rv1: run(s.rv1, v1, n1 / (n1 - 1)), rm2: run(s.rm2, m2, 1), rv2: run(s.rv2, v2, n2 / (n2 - 1)) };
  return [pN, mN, vN, t1, sN, loss] as [CnnParams, CnnParams, CnnParams, np.Array, CnnStats, np.Array];
}
function cnnInit(): { p: CnnParams; s: CnnStats } {
  const q = cnnParams();
  const z = (n: number) => np.zeros([n]), o = (n: number) => np.ones([n]);
  return {
    p: {
      c1w: np.array(q.conv1, { shape: q.shapes.conv1 }), c1b: z(32), g1: o(32), be1: z(32),
      c2w: np.array(q.conv2, { shape: q.shapes.conv2 }), c2b: z(64), g2: o(64), be2: z(64),
      f1w: np.array(transpose(q.fc1, 128, 3136), { shape: [3136, 128] }), f1b: z(128),
      f2w: np.array(transpose(q.fc2, 10, 128), { shape: [128, 10] }), f2b: z(10),
    },
    s: { rm1: z(32), rv1: o(32), rm2: z(64), rv2: o(64) },
  };
}
const CNN_NOTE = 'NCHW, lax.conv, batch norm from mean/var ops, maxpool via lax.reduceWindow(max)';

/** Times `call()` (a jitted function, fed fresh references) repeated k times, reading back the last result's first array. */
async function timeJit(call: () => np.Array[], o: TimingOpts) {
  let sample = '';
  const t = await timeChain(async (k) => {
    let out: np.Array[] = [];
    for (let j = 0; j < k; j++) {
      for (const a of out) a.dispose();
      out = call();
    }
    const [first, ...rest] = out;
    sample = head4(await first.data()); // consumes it
    for (const a of rest) a.dispose();
  }, o);
  return { ...t, sample };
}

const attention = (q: np.Array, k: np.Array, v: np.Array, scale: number) => np.matmul(nn.softmax(np.matmul(q, np.swapaxes(k, -2, -1)).mul(scale), -1), v);

expose(withNote({
  adapter: adapterInfo,
  async mlpInfer(batch, o) {
    await init();
    const ps = mlpParams();
    const p = ps.flatMap((q) => [np.array(q.w, { shape: [q.fanIn, q.fanOut] }), np.array(q.b, { shape: [q.fanOut] })]);
    const x = np.array(mlpInferInput(batch), { shape: [batch, 784] });
    await blockUntilReady([...p, x]);
    const f = jit((x: np.Array, w1: np.Array, b1: np.Array, w2: np.Array, b2: np.Array, w3: np.Array, b3: np.Array) => {
      const h1 = nn.relu(np.matmul(x, w1).add(b1));
      const h2 = nn.relu(np.matmul(h1, w2).add(b2));
      return np.matmul(h2, w3).add(b3);
    });
    try {
      const t = await timeJit(() => [f(x.ref, ...p.map((a) => a.ref) as [np.Array, np.Array, np.Array, np.Array, np.Array, np.Array])], o);
      return { batch, msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, note: `jit(forward); ${t.sample}` };
    } finally {
      tree.dispose([p, x]); f.dispose();
    }
  },
  async attention(seq, dir, o) {
    await init();
    const shape = attnShape(seq), d = attnInputs(seq);
    const [q, k, v, r] = [d.q, d.k, d.v, d.r].map((a) => np.array(a, { shape }));
    await blockUntilReady([q, k, v, r]);
    const scale = 1 / Math.sqrt(ATTN.headDim);
    const fwd = jit((q: np.Array, k: np.Array, v: np.Array) => attention(q, k, v, scale));
    const bwd = jit((q: np.Array, k: np.Array, v: np.Array, r: np.Array) =>
      grad((q: np.Array, k: np.Array, v: np.Array, r: np.Array) => attention(q, k, v, scale).mul(r).sum(), { argnums: [0, 1, 2] })(q, k, v, r) as np.Array[]);
    const call = dir === 'fwd' ? () => [fwd(q.ref, k.ref, v.ref)] : () => bwd(q.ref, k.ref, v.ref, r.ref);
    try {
      const t = await timeJit(call, o);
      return {
        msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs,
        note: `${dir === 'fwd' ? 'jit(matmul, softmax, matmul)' : 'jit(grad(sum(attention * r), argnums [0, 1, 2]))'}; ${t.sample}`,
      };
    } finally {
      tree.dispose([q, k, v, r]); fwd.dispose(); bwd.dispose();
    }
  },
  async conv(i, dir, o) {
    await init();
    const s = CONV_SHAPES[i];
    const d = convInputs(s);
    const x = np.array(d.x, { shape: s.x }), w = np.array(d.w, { shape: [s.oc, s.x[1], s.k, s.k] });
    const r = np.array(d.r, { shape: convOutShape(s) });
    await blockUntilReady([x, w, r]);
    const pad: [number, number][] = [[s.pad, s.pad], [s.pad, s.pad]];
    const conv = (x: np.Array, w: np.Array) => lax.conv(x, w, [1, 1], pad);
    const fwd = jit(conv);
    const bwd = jit((x: np.Array, w: np.Array, r: np.Array) => grad((x: np.Array, w: np.Array, r: np.Array) => conv(x, w).mul(r).sum(), { argnums: [0, 1] })(x, w, r) as np.Array[]);
    const call = dir === 'fwd' ? () => [fwd(x.ref, w.ref)] : () => bwd(x.ref, w.ref, r.ref);
    try {
      const t = await timeJit(call, o);
      const flops = convFlops(s) * (dir === 'fwd' ? 1 : 2);
      return {
        gflops: flops / (t.ms * 1e6), msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs,
        note: dir === 'fwd' ? 'jit(lax.conv)' : 'jit(grad(sum(lax.conv(x, w) * r), argnums [0, 1]))',
      };
    } finally {
      x.dispose(); w.dispose(); r.dispose(); fwd.dispose(); bwd.dispose();
    }
  },
  cnn: (o) => timeMlp(async () => {
    await init();
    const { x: xd, yOneHot } = cnnData();
    const x = np.array(xd, { shape: [CNN.batch, 1, 28, 28] });
    const y = np.array(yOneHot, { shape: [CNN.batch, 10] });
    let { p, s } = cnnInit();
    const zerosLike = (q: CnnParams) => Object.fromEntries(Object.entries(q).map(([k, a]) => [k, np.zeros(a.shape)])) as CnnParams;
    let m = zerosLike(p), v = zerosLike(p);
    let t = np.zeros([]);
    await blockUntilReady([p, m, v, t, s, x, y]);
    const step = jit(cnnTrainStep);
    let losses: np.Array[] = [];
    return {
      step() {
        let loss: np.Array;
        [p, m, v, t, s, loss] = step(p, m, v, t, s, x.ref, y.ref);
        losses.push(loss);
      },
      async sync() {
        const last = losses.pop()!;
        await blockUntilReady([...losses, p, m, v, t, s]);
        for (const l of losses) l.dispose();
        losses = [];
        return (await last.data())[0];
      },
      note: `${CNN_NOTE}; jit(valueAndGrad + Adam written in jax-js), one-hot labels`,
    };
  }, o),
  async cnnInfer(batch, o) {
    await init();
    const { p, s } = cnnInit();
    const x = np.array(cnnData(batch).x, { shape: [batch, 1, 28, 28] });
    await blockUntilReady([p, s, x]);
    const f = jit(cnnForwardEval);
    try {
      const t = await timeJit(() => [f(tree.ref(p), tree.ref(s), x.ref)], o);
      return { batch, msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, note: `${CNN_NOTE}; jit(forward with running statistics)` };
    } finally {
      tree.dispose([p, s, x]); f.dispose();
    }
  },
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
}, 'memory: n/a (jax-js exposes no figure for the GPU memory it holds)'));
