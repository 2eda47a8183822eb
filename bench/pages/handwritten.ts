// Page: the hand-written WGSL matmul (bench/handwritten/matmul.ts) in raw WebGPU.
import { BEST, configName, dispatchSize, matmulWGSL, type MatmulConfig } from '../handwritten/matmul';
import { adapterInfo, errText, expose, matmulInputs, now, timeMatmul, type TimingOpts } from './common';

let devP: Promise<GPUDevice> | undefined;
function device(): Promise<GPUDevice> {
  devP ??= (async () => {
    const a = await navigator.gpu.requestAdapter();
    if (!a) throw new Error('no WebGPU adapter');
    const d = await a.requestDevice({
      requiredLimits: { maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, maxBufferSize: a.limits.maxBufferSize },
    });
    d.lost.then((info) => console.error('device lost', info.message));
    return d;
  })();
  return devP;
}

interface Prepared {
  run(k: number): Promise<Float32Array>;
  destroy(): void;
  compileMs: number;
}

async function prepare(cfg: MatmulConfig, n: number): Promise<Prepared> {
  const dev = await device();
  const { a, b } = matmulInputs(n);
  const bytes = n * n * 4;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const mk = (data?: Float32Array) => {
    const buf = dev.createBuffer({ size: bytes, usage });
    if (data) dev.queue.writeBuffer(buf, 0, data);
    return buf;
  };
  const A = mk(a), B = mk(b), X0 = mk(), X1 = mk();
  const staging = dev.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  dev.pushErrorScope('validation');
  const module = dev.createShaderModule({ code: matmulWGSL(cfg, n, n, n) });
  const t = now();
  const pipeline = await dev.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const compileMs = now() - t;
  const err = await dev.popErrorScope();
  if (err) throw new Error(`WGSL for ${configName(cfg)}: ${err.message}`);
  const bg = (src: GPUBuffer, dst: GPUBuffer) => dev.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: src } }, { binding: 1, resource: { buffer: B } }, { binding: 2, resource: { buffer: dst } }],
  });
  const g0 = bg(A, X0), g1 = bg(X0, X1), g2 = bg(X1, X0);
  const [wx, wy] = dispatchSize(cfg, n, n);
  return {
    compileMs,
    async run(k: number) {
      const enc = dev.createCommandEncoder();
      let out = X0;
      for (let i = 0; i < k; i++) {
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, i === 0 ? g0 : i % 2 ? g1 : g2);
        pass.dispatchWorkgroups(wx, wy);
        pass.end();
        out = i % 2 ? X1 : X0;
      }
      enc.copyBufferToBuffer(out, 0, staging, 0, bytes);
      dev.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const res = new Float32Array(staging.getMappedRange().slice(0));
      staging.unmap();
      return res;
    },
    destroy() { for (const x of [A, B, X0, X1, staging]) x.destroy(); },
  };
}

/** Checks C = A @ B at a few entries against a float64 CPU dot product. */
function verify(n: number, c: Float32Array, cfg: MatmulConfig): void {
  const { a, b } = matmulInputs(n);
  for (let s = 0; s < 64; s++) {
    const i = (s * 97 + 13) % n, j = (s * 61 + 7) % n;
    let ref = 0;
    for (let k = 0; k < n; k++) ref += a[i * n + k] * b[k * n + j];
    if (!(Math.abs(c[i * n + j] - ref) <= 1e-3 + 1e-3 * Math.abs(ref)))
      throw new Error(`${configName(cfg)} n=${n}: C[${i},${j}] = ${c[i * n + j]}, expected ${ref}`);
  }
}

async function matmulWith(cfg: MatmulConfig, n: number, o: TimingOpts) {
  const p = await prepare(cfg, n);
  try {
    verify(n, await p.run(1), cfg);
    return await timeMatmul(n, async (k) => { await p.run(k); }, o, configName(cfg));
  } finally {
    p.destroy();
  }
}

expose({
  adapter: adapterInfo,
  matmul: (n, o) => matmulWith(BEST, n, o),
  /** Sweeps configurations at size n; failures are reported per configuration. */
  async tune(n: number, configs: unknown[], o: TimingOpts) {
    const rows: { config: string; gflops?: number; compileMs?: number; error?: string }[] = [];
    for (const cfg of configs as MatmulConfig[]) {
      try {
        const r = await matmulWith(cfg, n, o);
        rows.push({ config: configName(cfg), gflops: r.gflops });
      } catch (e) {
        rows.push({ config: configName(cfg), error: errText(e) });
      }
    }
    return rows;
  },
  wgsl: (n: number) => matmulWGSL(BEST, n, n, n),
});
