// The Kiln side of every bench workload, written once: the browser page (kiln.ts, Kiln from the
// built bundle) and the Node runner (../node.ts, Kiln from src through Dawn) both run these bodies,
// so the two cannot drift apart. `kiln()` resolves to an initialised Kiln module.
import {
  ATTN, attnInputs, attnShape, type BenchPage, CNN, cnnData, cnnStateDict, CONV_SHAPES, convFlops, convInputs, convOutShape, ENCODER, encoderInput,
  encoderStateDict, head4, matmulInputs, MLP, mlpData, mlpInferInput, mlpStateDict, timeChain, timeMatmul, timeMlp, type StateDict,
} from './common';

const disposeAll = (r: any) => { for (const t of Array.isArray(r) ? r : [r]) t?.dispose?.(); };

type Memory = () => Promise<number>;
/**
 * A case's GPU memory (bench/README.md, "Memory"). Called at the case's start, before it makes any
 * tensor; the function it returns, called after the timed calls with the last result still alive,
 * gives Kiln's buffers in use then (kn.memoryStats().bytesInUse, pool buckets) less those in use at
 * the start. Each reading follows a forced garbage collection where the runtime exposes gc()
 * (Chromium and the Node runner's children run with --expose-gc), so that garbage Kiln frees through
 * its FinalizationRegistry (earlier cases' models, loadStateDict's copies) is not counted.
 */
async function memoryFrom(kn: any): Promise<Memory> {
  const inUse = async (): Promise<number> => {
    (globalThis as any).gc?.();
    for (let i = 0; i < 2; i++) await new Promise((r) => setTimeout(r, 50)); // FinalizationRegistry callbacks run as later tasks
    return kn.memoryStats().bytesInUse;
  };
  const base = await inUse();
  return async () => (await inUse()) - base;
}
const MEMORY_NOTE = `memory: kn.memoryStats().bytesInUse after the timed calls (last result alive) less before the case${(globalThis as any).gc ? ', after gc()' : ', no gc() (garbage counts)'}`;

/** Times `f(...args)` called k times back to back, reading back the last call's (first) result; `sample`: its first values; `peakBytes`: `mem()` with the last result alive. */
async function timeCompiled(f: any, args: any[], o: Parameters<typeof timeChain>[1], mem?: Memory) {
  let sample = '', kept: any;
  const t = await timeChain(async (k) => {
    disposeAll(kept);
    let out: any;
    for (let i = 0; i < k; i++) {
      if (out) disposeAll(out);
      out = await f(...args);
    }
    sample = head4(await (Array.isArray(out) ? out[0] : out).data());
    kept = out;
  }, o, () => f.ready());
  const peakBytes = await mem?.();
  disposeAll(kept);
  return { ...t, sample, peakBytes };
}

const kilnStateDict = (kn: any, sd: StateDict) => Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, kn.tensor(t.data, t.shape)]));

/** Loads `sd` into `model`; a failure is noted (the model keeps Kiln's own initial weights) rather than thrown. */
async function load(kn: any, model: any, sd: StateDict, note: string, strict = true): Promise<string> {
  const tensors = kilnStateDict(kn, sd);
  try {
    model.loadStateDict(tensors, { strict });
    return note;
  } catch (e) {
    return `${note}; loadStateDict failed (${(e as Error)?.message}), Kiln's own initial weights`;
  } finally {
    disposeAll(Object.values(tensors));
  }
}

/** An inference function compiled under noGrad, timed like the convolutions. */
async function timeInfer(kn: any, forward: (x: any) => any, x: any, note: string, o: Parameters<typeof timeChain>[1], mem: Memory) {
  const f = kn.compile((xb: any) => kn.noGrad(() => forward(xb)));
  try {
    const t = await timeCompiled(f, [x], o, mem);
    return {
      batch: x.shape[0], msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: t.peakBytes,
      note: `${note}; kn.compile(noGrad(forward)); ${MEMORY_NOTE}; ${t.sample}`,
    };
  } finally {
    x.dispose?.();
  }
}

/** A compiled Adam training step on fixed data, in the shape the step timer wants. */
function adamStep(kn: any, model: any, lr: number, x: any, y: any, note: string, mem: Memory) {
  const opt = new kn.optim.Adam(model.parameters(), { lr });
  const step = kn.compile((xb: any, yb: any) => {
    const loss = kn.F.crossEntropy(model.forward(xb), yb);
    loss.backward();
    opt.step();
    opt.zeroGrad();
    return loss;
  });
  let last: any;
  return {
    async step() {
      const loss = await step(x, y);
      if (last && last !== loss) last.dispose?.();
      last = loss;
    },
    async sync() { return Number(await last.item()); },
    ready: () => step.ready(),
    memory: mem, // the last loss alive
    note: `${note}; ${MEMORY_NOTE}`,
  };
}

const mlpModel = (kn: any) => new kn.nn.Sequential(
  new kn.nn.Linear(784, 256), new kn.nn.ReLU(), new kn.nn.Linear(256, 256), new kn.nn.ReLU(), new kn.nn.Linear(256, 10),
);

/** The CNN as kn.nn modules, with the shared initial weights (module indices: 0, 4 conv; 1, 5 BN; 9, 11 dense). */
async function cnnModel(kn: any): Promise<{ model: any; note: string }> {
  const nn = kn.nn;
  const model = new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.BatchNorm2d(64), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
  );
  const note = await load(kn, model, cnnStateDict(), 'kn.nn Conv2d/BatchNorm2d/ReLU/MaxPool2d/Flatten/Linear', false);
  return { model, note };
}

export type KilnWorkloads = Required<Pick<BenchPage, 'matmul' | 'mlp' | 'conv' | 'cnn' | 'cnnInfer' | 'mlpInfer' | 'attention' | 'encoder'>>;

export function kilnWorkloads(kiln: () => Promise<any>): KilnWorkloads {
  return {
    async conv(i, dir, o) {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const s = CONV_SHAPES[i];
      const d = convInputs(s);
      const x = kn.tensor(d.x, s.x), w = kn.tensor(d.w, [s.oc, s.x[1], s.k, s.k]);
      const r = kn.tensor(d.r, convOutShape(s));
      const conv = (x: any, w: any) => kn.F.conv2d(x, w, { padding: s.pad });
      const f = dir === 'fwd'
        ? kn.compile(conv)
        : kn.compile((x: any, w: any) => kn.grad((x: any, w: any) => conv(x, w).mul(r).sum(), { argnums: [0, 1] })(x, w));
      try {
        const t = await timeCompiled(f, [x, w], o, mem);
        const flops = convFlops(s) * (dir === 'fwd' ? 1 : 2);
        const st = f.stats?.();
        return {
          gflops: flops / (t.ms * 1e6), msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: t.peakBytes,
          note: `${dir === 'fwd' ? 'kn.compile(F.conv2d)' : 'kn.compile(kn.grad(sum(F.conv2d(x, w) * r), argnums [0, 1]))'}${st ? `, ${st.kernels} kernels` : ''}; ${MEMORY_NOTE}`,
        };
      } finally {
        x.dispose?.(); w.dispose?.(); r.dispose?.();
      }
    },
    cnn: (o) => timeMlp(async () => {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const { x: xd, y: yd } = cnnData();
      const x = kn.tensor(xd, [CNN.batch, 1, 28, 28]);
      const y = kn.tensor(yd, [CNN.batch], { dtype: 'int32' });
      const { model, note } = await cnnModel(kn);
      return adamStep(kn, model, CNN.lr, x, y, `${note}; kn.compile(forward + crossEntropy + backward + Adam), int32 labels`, mem);
    }, o),
    async cnnInfer(batch, o) {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const { model, note } = await cnnModel(kn);
      model.eval();
      return timeInfer(kn, (x) => model.forward(x), kn.tensor(cnnData(batch).x, [batch, 1, 28, 28]), `${note}; model.eval()`, o, mem);
    },
    async mlpInfer(batch, o) {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const model = mlpModel(kn);
      const note = await load(kn, model, mlpStateDict(), 'kn.nn Linear/ReLU');
      model.eval();
      return timeInfer(kn, (x) => model.forward(x), kn.tensor(mlpInferInput(batch), [batch, 784]), note, o, mem);
    },
    async encoder(o) {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const { dModel: D, heads: H, ff, batch, seq } = ENCODER;
      const sd = encoderStateDict();
      const layer = new kn.nn.TransformerEncoderLayer(D, H, { dimFeedforward: ff, dropout: 0.1, activation: 'relu', batchFirst: true });
      const note = await load(kn, layer, sd, 'kn.nn.TransformerEncoderLayer, loadStateDict, eval()');
      layer.eval();
      return timeInfer(kn, (x) => layer.forward(x), kn.tensor(encoderInput(), [batch, seq, D]), note, o, mem);
    },
    async attention(seq, dir, o, variant) {
      const kn = await kiln();
      // The unfused baseline is the composite written out with fusion off: every op its own kernel,
      // so no pattern rewrite can turn it into the flash kernel (this page is fresh for each case).
      const unfused = variant === 'unfused';
      if (unfused) kn.debug.setFusion(false);
      const shape = attnShape(seq), d = attnInputs(seq);
      const [q, k, v, r] = [d.q, d.k, d.v, d.r].map((a) => kn.tensor(a, shape));
      const scale = 1 / Math.sqrt(ATTN.headDim);
      const attn = unfused
        ? (q: any, k: any, v: any) => q.matmul(k.transpose(-2, -1)).mul(scale).softmax(-1).matmul(v)
        : (q: any, k: any, v: any) => kn.F.scaledDotProductAttention(q, k, v);
      const f = dir === 'fwd'
        ? kn.compile(attn)
        : kn.compile((q: any, k: any, v: any) => kn.grad((q: any, k: any, v: any) => attn(q, k, v).mul(r).sum(), { argnums: [0, 1, 2] })(q, k, v));
      try {
        const t = await timeCompiled(f, [q, k, v], o);
        const st = f.stats?.();
        const what = unfused ? 'q.matmul(k.transpose(-2, -1)).mul(scale).softmax(-1).matmul(v), kn.debug.setFusion(false)' : 'kn.F.scaledDotProductAttention';
        return {
          msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: kn.memoryStats().peakBytes,
          note: `${dir === 'fwd' ? `kn.compile(${what})` : `kn.compile(kn.grad(sum(${what} * r), argnums [0, 1, 2]))`}${st ? `, ${st.kernels} kernels` : ''}; peak: kn.memoryStats().peakBytes; ${t.sample}`,
        };
      } finally {
        for (const a of [q, k, v, r]) a.dispose?.();
      }
    },
    async matmul(n, o) {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const { a, b } = matmulInputs(n);
      const A = kn.tensor(a, [n, n]), B = kn.tensor(b, [n, n]);
      // A compiled matmul, replayed: the way a Kiln user runs a hot op. Its result feeds the next call.
      const mm = kn.compile((x: any, w: any) => x.matmul(w));
      // the first call runs a quick-to-compile kernel; time the tuned one that replaces it
      (await mm(A, B)).dispose?.();
      await mm.ready();
      let kept: any; // the last repetition's result, alive for the memory reading
      try {
        const r = await timeMatmul(n, async (k) => {
          kept?.dispose?.();
          let x = A;
          for (let i = 0; i < k; i++) {
            const y = await mm(x, B);
            if (x !== A) x.dispose?.();
            x = y;
          }
          await x.data();
          kept = x !== A ? x : undefined;
        }, o, `kn.compile((x, w) => x.matmul(w)); ${MEMORY_NOTE}`);
        return { ...r, peakBytes: await mem() };
      } finally {
        kept?.dispose?.(); A.dispose?.(); B.dispose?.();
      }
    },
    mlp: (o) => timeMlp(async () => {
      const kn = await kiln();
      const mem = await memoryFrom(kn);
      const { x: xd, y: yd } = mlpData();
      const x = kn.tensor(xd, [MLP.batch, 784]);
      const y = kn.tensor(yd, [MLP.batch], { dtype: 'int32' });
      const model = mlpModel(kn);
      // Same initial weights as the peers (PyTorch layout: weight [out, in]).
      const note = await load(kn, model, mlpStateDict(), 'kn.compile(forward + crossEntropy + backward + Adam), int32 labels');
      return adamStep(kn, model, MLP.lr, x, y, note, mem);
    }, o),
  };
}
