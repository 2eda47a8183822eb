// Page: Kiln, from the built bundle dist/kiln.js, through the pinned public API (DESIGN.md section 6).
// The bundle is imported at run time (not bundled into this page), so this page measures exactly
// what `npm run build` produced; while it is missing, every Kiln row reports the import error.
import {
  adapterInfo, CNN, cnnData, cnnParams, CONV_SHAPES, convFlops, convInputs, convOutShape, expose, matmulInputs, MLP, mlpData,
  mlpParams, timeChain, timeMatmul, timeMlp,
} from './common';

// `?kiln=/path/to/bundle.js` (run.ts --kiln=PATH) tests another build
const KILN_URL = new URLSearchParams(location.search).get('kiln') ?? '/dist/kiln.js';
let knP: Promise<any> | undefined;
function kiln(): Promise<any> {
  knP ??= (async () => {
    let kn: any;
    try {
      kn = await import(/* @vite-ignore */ KILN_URL);
    } catch (e) {
      const head = await fetch(KILN_URL, { method: 'HEAD' }).catch(() => undefined);
      const why = head && !head.ok ? `HTTP ${head.status} (run \`npm run build\` first)` : (e as Error)?.message ?? String(e);
      throw new Error(`cannot import ${KILN_URL}: ${why}`);
    }
    if (typeof kn.init !== 'function') throw new Error(`${KILN_URL} does not export init()`);
    await kn.init();
    return kn;
  })();
  return knP;
}

const disposeAll = (r: any) => { for (const t of Array.isArray(r) ? r : [r]) t?.dispose?.(); };

/** Times `f(...args)` called k times back to back, reading back the last call's (first) result. */
async function timeCompiled(f: any, args: any[], o: Parameters<typeof timeChain>[1]) {
  return timeChain(async (k) => {
    let out: any;
    for (let i = 0; i < k; i++) {
      if (out) disposeAll(out);
      out = await f(...args);
    }
    await (Array.isArray(out) ? out[0] : out).data();
    disposeAll(out);
  }, o, () => f.ready());
}

/** The CNN as kn.nn modules, with the shared initial weights (module indices: 0, 4 conv; 1, 5 BN; 9, 11 dense). */
/** A compiled Adam training step on fixed data, in the shape the step timer wants. */
function adamStep(kn: any, model: any, lr: number, x: any, y: any, note: string) {
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
    note,
  };
}

async function cnnModel(kn: any): Promise<{ model: any; note: string }> {
  const nn = kn.nn;
  const model = new nn.Sequential(
    new nn.Conv2d(1, 32, 3, { padding: 1 }), new nn.BatchNorm2d(32), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Conv2d(32, 64, 3, { padding: 1 }), new nn.BatchNorm2d(64), new nn.ReLU(), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(64 * 7 * 7, 128), new nn.ReLU(), new nn.Linear(128, 10),
  );
  const p = cnnParams();
  const sd: Record<string, any> = {
    '0.weight': kn.tensor(p.conv1, p.shapes.conv1), '0.bias': kn.zeros([32]),
    '4.weight': kn.tensor(p.conv2, p.shapes.conv2), '4.bias': kn.zeros([64]),
    '9.weight': kn.tensor(p.fc1, p.shapes.fc1), '9.bias': kn.zeros([128]),
    '11.weight': kn.tensor(p.fc2, p.shapes.fc2), '11.bias': kn.zeros([10]),
  };
  let note = 'kn.nn Conv2d/BatchNorm2d/ReLU/MaxPool2d/Flatten/Linear';
  try {
    await model.loadStateDict(sd, { strict: false });
  } catch (e) {
    note += `; loadStateDict failed (${(e as Error)?.message}), Kiln's own initial weights`;
  }
  return { model, note };
}

expose({
  adapter: adapterInfo,
  async conv(i, dir, o) {
    const kn = await kiln();
    const s = CONV_SHAPES[i];
    const d = convInputs(s);
    const x = kn.tensor(d.x, s.x), w = kn.tensor(d.w, [s.oc, s.x[1], s.k, s.k]);
    const r = kn.tensor(d.r, convOutShape(s));
    const conv = (x: any, w: any) => kn.F.conv2d(x, w, { padding: s.pad });
    const f = dir === 'fwd'
      ? kn.compile(conv)
      : kn.compile((x: any, w: any) => kn.grad((x: any, w: any) => conv(x, w).mul(r).sum(), { argnums: [0, 1] })(x, w));
    try {
      const t = await timeCompiled(f, [x, w], o);
      const flops = convFlops(s) * (dir === 'fwd' ? 1 : 2);
      const st = f.stats?.();
      return {
        gflops: flops / (t.ms * 1e6), msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs,
        note: `${dir === 'fwd' ? 'kn.compile(F.conv2d)' : 'kn.compile(kn.grad(sum(F.conv2d(x, w) * r), argnums [0, 1]))'}${st ? `, ${st.kernels} kernels` : ''}`,
      };
    } finally {
      x.dispose?.(); w.dispose?.(); r.dispose?.();
    }
  },
  cnn: (o) => timeMlp(async () => {
    const kn = await kiln();
    const { x: xd, y: yd } = cnnData();
    const x = kn.tensor(xd, [CNN.batch, 1, 28, 28]);
    const y = kn.tensor(yd, [CNN.batch], { dtype: 'int32' });
    const { model, note } = await cnnModel(kn);
    return adamStep(kn, model, CNN.lr, x, y, `${note}; kn.compile(forward + crossEntropy + backward + Adam), int32 labels`);
  }, o),
  async cnnInfer(batch, o) {
    const kn = await kiln();
    const { model, note } = await cnnModel(kn);
    model.eval();
    const x = kn.tensor(cnnData(batch).x, [batch, 1, 28, 28]);
    const f = kn.compile((xb: any) => kn.noGrad(() => model.forward(xb)));
    try {
      const t = await timeCompiled(f, [x], o);
      return { batch, msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, note: `${note}; model.eval(), kn.compile(noGrad(forward))` };
    } finally {
      x.dispose?.();
    }
  },
  async matmul(n, o) {
    const kn = await kiln();
    const { a, b } = matmulInputs(n);
    const A = kn.tensor(a, [n, n]), B = kn.tensor(b, [n, n]);
    // A compiled matmul, replayed: the way a Kiln user runs a hot op. Its result feeds the next call.
    const mm = kn.compile((x: any, w: any) => x.matmul(w));
    // the first call runs a quick-to-compile kernel; time the tuned one that replaces it
    (await mm(A, B)).dispose?.();
    await mm.ready();
    try {
      return await timeMatmul(n, async (k) => {
        let x = A;
        for (let i = 0; i < k; i++) {
          const y = await mm(x, B);
          if (x !== A) x.dispose?.();
          x = y;
        }
        await x.data();
        if (x !== A) x.dispose?.();
      }, o, 'kn.compile((x, w) => x.matmul(w))');
    } finally {
      A.dispose?.(); B.dispose?.();
    }
  },
  mlp: (o) => timeMlp(async () => {
    const kn = await kiln();
    const { x: xd, y: yd } = mlpData();
    const x = kn.tensor(xd, [MLP.batch, 784]);
    const y = kn.tensor(yd, [MLP.batch], { dtype: 'int32' });
    const model = new kn.nn.Sequential(
      new kn.nn.Linear(784, 256), new kn.nn.ReLU(),
      new kn.nn.Linear(256, 256), new kn.nn.ReLU(),
      new kn.nn.Linear(256, 10),
    );
    // Same initial weights as the peers (PyTorch layout: weight [out, in]).
    const ps = mlpParams();
    const sd: Record<string, any> = {};
    ps.forEach((p, l) => {
      const w = new Float32Array(p.fanIn * p.fanOut); // [out, in] from [in, out]
      for (let i = 0; i < p.fanIn; i++) for (let j = 0; j < p.fanOut; j++) w[j * p.fanIn + i] = p.w[i * p.fanOut + j];
      sd[`${2 * l}.weight`] = kn.tensor(w, [p.fanOut, p.fanIn]);
      sd[`${2 * l}.bias`] = kn.tensor(p.b, [p.fanOut]);
    });
    let note = 'kn.compile(forward + crossEntropy + backward + Adam), int32 labels';
    try {
      await model.loadStateDict(sd);
    } catch (e) {
      note += `; loadStateDict failed (${(e as Error)?.message}), Kiln's own initial weights`;
    }
    return adamStep(kn, model, MLP.lr, x, y, note);
  }, o),
});
