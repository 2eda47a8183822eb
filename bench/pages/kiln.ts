// Page: Kiln, from the built bundle dist/kiln.js, through the pinned public API (DESIGN.md section 6).
// The bundle is imported at run time (not bundled into this page), so this page measures exactly
// what `npm run build` produced; while it is missing, every Kiln row reports the import error.
import { adapterInfo, expose, matmulInputs, MLP, mlpData, mlpParams, timeMatmul, timeMlp } from './common';

const KILN_URL = '/dist/kiln.js';
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

expose({
  adapter: adapterInfo,
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
    const opt = new kn.optim.Adam(model.parameters(), { lr: MLP.lr });
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
  }, o),
});
