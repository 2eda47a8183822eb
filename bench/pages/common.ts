// Shared by every bench page (bundled into each by esbuild): timing loops, data, the page protocol.

export interface MatmulResult {
  n: number;
  gflops: number; // 2n^3 / median time per matmul
  msPerMatmul: number; // median
  chain: number; // matmuls per timed repetition (chained x <- x @ B, read back once)
  reps: number;
  samplesMs: number[]; // per-matmul times of each repetition
  note?: string;
}

export interface MlpResult {
  msPerStep: number; // median
  firstStepMs: number; // first step from a fresh page: tracing, shader compilation, upload of nothing (data is already on the GPU)
  setupMs: number; // library init + parameters + data upload, before the first step
  stepsPerSync: number;
  reps: number;
  samplesMs: number[];
  firstLoss: number;
  lastLoss: number;
  note?: string;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  userAgent: string;
}

export interface BenchPage {
  adapter(): Promise<AdapterInfo>;
  matmul?(n: number, opts: TimingOpts): Promise<MatmulResult>;
  mlp?(opts: TimingOpts): Promise<MlpResult>;
  tune?(n: number, configs: unknown[], opts: TimingOpts): Promise<unknown>;
  wgsl?(n: number): string;
}

export interface TimingOpts {
  targetRepMs: number; // aim for repetitions at least this long (chain/steps per sync grow to reach it)
  budgetMs: number; // stop repeating after this much timed time…
  minReps: number; // …but not before this many repetitions
  maxReps: number;
  maxChain: number;
}

export function expose(page: BenchPage): void {
  (globalThis as any).kilnBench = page;
}

export async function adapterInfo(): Promise<AdapterInfo> {
  const gpu = (navigator as any).gpu as GPU | undefined;
  if (!gpu) throw new Error('navigator.gpu is missing (not a secure context, or WebGPU disabled)');
  const a = await gpu.requestAdapter();
  if (!a) throw new Error('navigator.gpu.requestAdapter() returned null');
  const i = a.info;
  return {
    vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description,
    features: [...a.features].sort(), userAgent: navigator.userAgent,
  };
}

export const now = () => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const clamp = (x: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, x));

/** Deterministic N(0,1) data (mulberry32 + Box-Muller), so every peer sees the same numbers. */
export function randn(count: number, seed: number, scale = 1): Float32Array<ArrayBuffer> {
  let s = seed >>> 0;
  const u = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u())), th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th) * scale;
    if (i + 1 < count) out[i + 1] = r * Math.sin(th) * scale;
  }
  return out;
}

export function randint(count: number, high: number, seed: number): Int32Array<ArrayBuffer> {
  const f = randn(count, seed);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor((0.5 + 0.5 * Math.tanh(f[i])) * high) % high;
  return out;
}

/** The matmul workload's inputs: A (n×n, N(0,1)) and B (n×n, N(0,1/n)) so that x <- x @ B keeps its scale. */
export function matmulInputs(n: number): { a: Float32Array<ArrayBuffer>; b: Float32Array<ArrayBuffer> } {
  return { a: randn(n * n, 1), b: randn(n * n, 2, 1 / Math.sqrt(n)) };
}

/** The MLP workload: 784-256-256-10, batch 128. Parameters in PyTorch layout (weight [out,in]) and
 * transposed layout (wT [in,out]) for libraries that compute x @ W. */
export const MLP = { batch: 128, sizes: [784, 256, 256, 10], lr: 1e-3 };
export function mlpData(): { x: Float32Array<ArrayBuffer>; y: Int32Array<ArrayBuffer>; yOneHot: Float32Array<ArrayBuffer> } {
  const { batch } = MLP;
  const x = randn(batch * 784, 3);
  const y = randint(batch, 10, 4);
  const yOneHot = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) yOneHot[i * 10 + y[i]] = 1;
  return { x, y, yOneHot };
}
/** Layer l (0..2): weight as [in,out] (x @ W), uniform(-1/sqrt(in), 1/sqrt(in)) like PyTorch's default, bias zero. */
export function mlpParams(): { w: Float32Array<ArrayBuffer>; b: Float32Array<ArrayBuffer>; fanIn: number; fanOut: number }[] {
  const s = MLP.sizes;
  return [0, 1, 2].map((l) => {
    const fanIn = s[l], fanOut = s[l + 1];
    const w = randn(fanIn * fanOut, 10 + l, 1 / Math.sqrt(3 * fanIn)); // same variance as U(±1/sqrt(in))
    return { w, b: new Float32Array(fanOut), fanIn, fanOut };
  });
}
/** Transposes a row-major [rows, cols] matrix. */
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/**
 * Times a chain of matmuls. `run(k)` must enqueue k chained matmuls x <- x @ B (starting from A)
 * and resolve once the final result has been read back to the CPU (so all GPU work is done).
 */
export async function timeMatmul(n: number, run: (k: number) => Promise<void>, o: TimingOpts, note?: string): Promise<MatmulResult> {
  await run(1); // compiles and uploads
  let t = now();
  await run(1);
  const est = Math.max(now() - t, 0.01);
  const chain = clamp(Math.ceil(o.targetRepMs / est), 1, o.maxChain);
  await run(chain); // warm at the timed chain length too
  const samples: number[] = [];
  const t0 = now();
  while (samples.length < o.minReps || (samples.length < o.maxReps && now() - t0 < o.budgetMs)) {
    t = now();
    await run(chain);
    samples.push((now() - t) / chain);
  }
  const ms = median(samples);
  return { n, gflops: (2 * n ** 3) / (ms * 1e6), msPerMatmul: ms, chain, reps: samples.length, samplesMs: samples, note };
}

export interface MlpHarness {
  /** Enqueue one training step (may return a promise, which is awaited: that is part of the step's cost). */
  step(): unknown;
  /** Resolve with the last step's loss once it has been read back (so all GPU work is done). */
  sync(): Promise<number>;
  /** resolves once background (tiered) compilation has finished, where a system has any */
  ready?(): Promise<void>;
  note?: string;
}

/** `setup` is timed as setupMs; the first step (from this fresh page) as firstStepMs. */
export async function timeMlp(setup: () => Promise<MlpHarness>, o: TimingOpts): Promise<MlpResult> {
  let t = now();
  const h = await setup();
  const setupMs = now() - t;
  t = now();
  await h.step();
  const firstLoss = await h.sync();
  const firstStepMs = now() - t;
  // steady state is what is timed: wait for tuned kernels still compiling in the background
  t = now();
  if (h.ready) await h.ready();
  const readyMs = now() - t;
  // warm-up, synchronised every step, also gives the estimate for steps per sync
  let est = Infinity;
  for (let i = 0; i < 2; i++) {
    t = now();
    await h.step();
    await h.sync();
    est = Math.min(est, now() - t);
  }
  const stepsPerSync = clamp(Math.ceil(o.targetRepMs / Math.max(est, 0.01)), 1, o.maxChain);
  for (let i = 0; i < stepsPerSync; i++) await h.step();
  await h.sync();
  const samples: number[] = [];
  const t0 = now();
  let lastLoss = NaN;
  while (samples.length < o.minReps || (samples.length < o.maxReps && now() - t0 < o.budgetMs)) {
    t = now();
    for (let i = 0; i < stepsPerSync; i++) await h.step();
    lastLoss = await h.sync();
    samples.push((now() - t) / stepsPerSync);
  }
  return {
    msPerStep: median(samples), firstStepMs, setupMs, stepsPerSync, reps: samples.length, samplesMs: samples,
    firstLoss, lastLoss, note: h.ready ? `${h.note ?? ''}; tuned kernels ready ${readyMs.toFixed(0)} ms after the first step` : h.note,
  };
}

/** Wraps an error so that puppeteer carries a readable message back. */
export function errText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
