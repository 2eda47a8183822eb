// Shared by every bench page (bundled into each by esbuild): timing loops, data, the page protocol.

export interface MatmulResult {
  n: number;
  gflops: number; // 2n^3 / median time per matmul
  msPerMatmul: number; // median
  chain: number; // matmuls per timed repetition (chained x <- x @ B, read back once)
  reps: number;
  samplesMs: number[]; // per-matmul times of each repetition
  /** GPU memory the case holds at a call's high point, where the system reports it (bench/README.md, "Memory") */
  peakBytes?: number;
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
  /** GPU memory the case holds at a call's high point, where the system reports it (bench/README.md, "Memory") */
  peakBytes?: number;
  note?: string;
}

/** One conv2d case (forward, or input + weight gradients), timed as repeated calls on the same inputs. */
export interface ConvResult {
  gflops: number; // forward: 2*N*OC*OH*OW*C*KH*KW / median time; backward: twice that
  msPerCall: number; // median
  chain: number; // calls per timed repetition (one read-back at the end)
  reps: number;
  samplesMs: number[]; // per-call times of each repetition
  firstMs: number; // the first call, including compilation
  /** GPU memory the case holds at a call's high point, where the system reports it (bench/README.md, "Memory") */
  peakBytes?: number;
  note?: string;
}

/** CNN inference (eval mode), ms per forward at one batch size. */
export interface InferResult {
  batch: number;
  msPerForward: number; // median
  chain: number;
  reps: number;
  samplesMs: number[];
  firstMs: number;
  /** GPU memory the case holds at a call's high point, where the system reports it (bench/README.md, "Memory") */
  peakBytes?: number;
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
  /** conv2d case `CONV_SHAPES[shape]`, forward or backward (input + weight gradients) */
  conv?(shape: number, dir: 'fwd' | 'bwd', opts: TimingOpts): Promise<ConvResult>;
  /** the CNN training step (same result shape as the MLP's) */
  cnn?(opts: TimingOpts): Promise<MlpResult>;
  /** CNN forward in eval mode at `batch` */
  cnnInfer?(batch: number, opts: TimingOpts): Promise<InferResult>;
  /** MLP forward at `batch` */
  mlpInfer?(batch: number, opts: TimingOpts): Promise<InferResult>;
  /** attention at sequence length `seq`, forward or forward + backward; `variant` picks one of a page's implementations */
  attention?(seq: number, dir: 'fwd' | 'bwd', opts: TimingOpts, variant?: string): Promise<AttnResult>;
  /** the Transformer encoder layer, eval mode (batch ENCODER.batch) */
  encoder?(opts: TimingOpts): Promise<InferResult>;
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

/**
 * Each kind of workload's timing options (the values of run.ts's own table, for the Node runner).
 * Convolutions, the CNN step and CNN inference: a slow peer takes seconds per call on SwiftShader
 * (TF.js's CNN step ~7 s, its 16x64x56x56 backward conv 25+ s), so few repetitions: a case whose
 * single call outlasts the budget runs minReps (2 for a conv case or an inference batch, 3 CNN steps).
 */
export function timingOpts(quick: boolean): Record<'matmul' | 'mlp' | 'conv' | 'cnn' | 'infer' | 'attn', TimingOpts> {
  // Convolutions, the CNN step, inference and attention: a slow peer takes seconds per call
  // here (TF.js's CNN step ~15 s, its 16x64x56x56 backward conv 25+ s), so few repetitions: a
  // case whose single call outlasts the budget runs minReps (2 for a conv case or an inference
  // batch, 3 CNN steps).
  const conv: TimingOpts = quick
    ? { targetRepMs: 100, budgetMs: 600, minReps: 2, maxReps: 3, maxChain: 8 }
    : { targetRepMs: 300, budgetMs: 3000, minReps: 2, maxReps: 8, maxChain: 16 };
  return {
    matmul: quick
      ? { targetRepMs: 100, budgetMs: 1000, minReps: 2, maxReps: 4, maxChain: 16 }
      : { targetRepMs: 250, budgetMs: 4000, minReps: 3, maxReps: 10, maxChain: 32 },
    mlp: quick
      ? { targetRepMs: 150, budgetMs: 1500, minReps: 2, maxReps: 4, maxChain: 10 }
      : { targetRepMs: 400, budgetMs: 8000, minReps: 3, maxReps: 12, maxChain: 20 },
    conv,
    cnn: quick
      ? { targetRepMs: 0, budgetMs: 0, minReps: 2, maxReps: 2, maxChain: 1 }
      : { targetRepMs: 1000, budgetMs: 8000, minReps: 3, maxReps: 8, maxChain: 4 },
    infer: conv,
    attn: conv,
  };
}

export function expose(page: BenchPage): void {
  (globalThis as any).kilnBench = page;
}

/** `page` with `text` appended to every workload result's note (e.g. why a system has no memory figure). */
export function withNote(page: BenchPage, text: string): BenchPage {
  const wrap = (f: (...a: any[]) => Promise<any>) => async (...a: any[]) => { const r = await f(...a); return { ...r, note: r.note ? `${r.note}; ${text}` : text }; };
  return Object.fromEntries(Object.entries(page).map(([k, f]) => [k, k === 'adapter' ? f : wrap(f)])) as unknown as BenchPage;
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
export function transpose(m: Float32Array, rows: number, cols: number): Float32Array<ArrayBuffer> {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/**
 * Times a chain of matmuls. `run(k)` must enqueue k chained matmuls x <- x @ B (starting from A)
 * and resolve once the final result has been read back to the CPU (so all GPU work is done).
 */
export async function timeMatmul(n: number, run: (k: number) => Promise<void>, o: TimingOpts, note?: string): Promise<MatmulResult> {
  const t = await timeChain(run, o);
  return { n, gflops: (2 * n ** 3) / (t.ms * 1e6), msPerMatmul: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, note };
}

export interface MlpHarness {
  /** Enqueue one training step (may return a promise, which is awaited: that is part of the step's cost). */
  step(): unknown;
  /** Resolve with the last step's loss once it has been read back (so all GPU work is done). */
  sync(): Promise<number>;
  /** resolves once background (tiered) compilation has finished, where a system has any */
  ready?(): Promise<void>;
  /** the case's GPU memory (MlpResult.peakBytes), asked once after the timed steps, where a system reports it */
  memory?(): Promise<number | undefined>;
  note?: string;
}

/**
 * Times a repeated call. `run(k)` must enqueue k calls and resolve once the last one's result has
 * been read back (so all GPU work is done). The first call (compilation) is timed on its own; then
 * `ready` (tiered compilation), one call as the estimate for calls per repetition, a warm-up at
 * that length if it is above 1, and repetitions until minReps / the budget.
 */
export async function timeChain(run: (k: number) => Promise<void>, o: TimingOpts, ready?: () => Promise<void>):
  Promise<{ ms: number; chain: number; reps: number; samplesMs: number[]; firstMs: number }> {
  let t = now();
  await run(1);
  const firstMs = now() - t;
  if (ready) await ready();
  t = now();
  await run(1);
  const est = Math.max(now() - t, 0.01);
  const chain = clamp(Math.ceil(o.targetRepMs / est), 1, o.maxChain);
  if (chain > 1) await run(chain); // with chain 1 the estimate call was the warm-up
  const samples: number[] = [];
  const t0 = now();
  while (samples.length < o.minReps || (samples.length < o.maxReps && now() - t0 < o.budgetMs)) {
    t = now();
    await run(chain);
    samples.push((now() - t) / chain);
  }
  return { ms: median(samples), chain, reps: samples.length, samplesMs: samples, firstMs };
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
  if (stepsPerSync > 1) { // warm at the timed length too (with 1, the warm-up above was exactly that)
    for (let i = 0; i < stepsPerSync; i++) await h.step();
    await h.sync();
  }
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
    firstLoss, lastLoss, peakBytes: await h.memory?.(), note: h.ready ? `${h.note ?? ''}; tuned kernels ready ${readyMs.toFixed(0)} ms after the first step` : h.note,
  };
}

// ---------------------------------------------------------------- convolution and CNN workloads
/** A conv2d case: input [N, C, H, W], OC output channels, square kernel, stride 1. */
export interface ConvSpec { x: [number, number, number, number]; oc: number; k: number; pad: number }
/** The CNN's two convolutions and a ResNet-like layer. */
export const CONV_SHAPES: ConvSpec[] = [
  { x: [64, 1, 28, 28], oc: 32, k: 3, pad: 1 },
  { x: [64, 32, 14, 14], oc: 64, k: 3, pad: 1 },
  { x: [16, 64, 56, 56], oc: 64, k: 3, pad: 1 },
];
export const convOutShape = (s: ConvSpec): [number, number, number, number] => {
  const [N, , H, W] = s.x;
  return [N, s.oc, H + 2 * s.pad - s.k + 1, W + 2 * s.pad - s.k + 1];
};
/** Forward FLOPs: 2*N*OC*OH*OW*C*KH*KW. */
export const convFlops = (s: ConvSpec): number => {
  const [N, , OH, OW] = convOutShape(s);
  return 2 * N * s.oc * OH * OW * s.x[1] * s.k * s.k;
};
export const convLabel = (s: ConvSpec): string => `${s.x.join('x')} -> ${s.oc}, ${s.k}x${s.k} pad ${s.pad}`;
/** x (NCHW, N(0,1)), w (OIHW, N(0, 1/fan-in)), r (the output's shape, N(0,1)): the objective is sum(conv(x, w) * r). */
export function convInputs(s: ConvSpec): { x: Float32Array<ArrayBuffer>; w: Float32Array<ArrayBuffer>; r: Float32Array<ArrayBuffer> } {
  const [N, C, H, W] = s.x;
  const fanIn = C * s.k * s.k;
  return {
    x: randn(N * C * H * W, 21),
    w: randn(s.oc * fanIn, 22, 1 / Math.sqrt(fanIn)),
    r: randn(convOutShape(s).reduce((a, b) => a * b, 1), 23),
  };
}
/** [N, C, H, W] -> [N, H, W, C] */
export function nchwToNhwc(a: Float32Array, [N, C, H, W]: number[]): Float32Array<ArrayBuffer> {
  const out = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++)
    out[((n * H + h) * W + w) * C + c] = a[((n * C + c) * H + h) * W + w];
  return out;
}
/** conv weight [O, I, KH, KW] -> [KH, KW, I, O] */
export function oihwToHwio(a: Float32Array, [O, I, KH, KW]: number[]): Float32Array<ArrayBuffer> {
  const out = new Float32Array(a.length);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < KH; h++) for (let w = 0; w < KW; w++)
    out[((h * KW + w) * I + i) * O + o] = a[((o * I + i) * KH + h) * KW + w];
  return out;
}

/**
 * The CNN: conv 3x3 32 (pad 1) + BatchNorm + ReLU + maxpool 2, conv 3x3 64 (pad 1) + BatchNorm +
 * ReLU + maxpool 2, flatten, dense 128 + ReLU, dense 10; softmax cross-entropy, Adam; input
 * [batch, 1, 28, 28]. BatchNorm: eps 1e-5, momentum 0.1, running variance unbiased (PyTorch's).
 */
export const CNN = { batch: 64, lr: 1e-3, eps: 1e-5, momentum: 0.1, inferBatches: [1, 256] };
/**
 * Initial parameters, PyTorch layout (conv [O, I, KH, KW], dense [out, in] with `in` in NCHW flatten
 * order c*49 + h*7 + w), N(0, 1/(3 fan-in)) like U(±1/sqrt(fan-in)); biases zero, BN scale 1, shift 0.
 */
export function cnnParams(): {
  conv1: Float32Array<ArrayBuffer>; conv2: Float32Array<ArrayBuffer>; fc1: Float32Array<ArrayBuffer>; fc2: Float32Array<ArrayBuffer>;
  shapes: { conv1: number[]; conv2: number[]; fc1: number[]; fc2: number[] };
} {
  const shapes = { conv1: [32, 1, 3, 3], conv2: [64, 32, 3, 3], fc1: [128, 64 * 7 * 7], fc2: [10, 128] };
  const init = (shape: number[], seed: number) => {
    const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
    return randn(shape.reduce((a, b) => a * b, 1), seed, 1 / Math.sqrt(3 * fanIn));
  };
  return { conv1: init(shapes.conv1, 31), conv2: init(shapes.conv2, 32), fc1: init(shapes.fc1, 33), fc2: init(shapes.fc2, 34), shapes };
}
/** Training batch: x [64, 1, 28, 28] N(0,1), labels in 0..9 (int and one-hot). */
export function cnnData(batch = CNN.batch): { x: Float32Array<ArrayBuffer>; y: Int32Array<ArrayBuffer>; yOneHot: Float32Array<ArrayBuffer> } {
  const x = randn(batch * 28 * 28, 35);
  const y = randint(batch, 10, 36);
  const yOneHot = new Float32Array(batch * 10);
  for (let i = 0; i < batch; i++) yOneHot[i * 10 + y[i]] = 1;
  return { x, y, yOneHot };
}

/** Wraps an error so that puppeteer carries a readable message back. */
export function errText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

// ---------------------------------------------------------------- inference, attention, Transformer encoder
/** PyTorch state dicts (weight [out, in]), keyed as torch's modules name them: what Kiln's
 * loadStateDict and the ONNX models' initializers (bench/onnx/*.json) take. */
export type StateDict = Record<string, { data: Float32Array<ArrayBuffer>; shape: number[] }>;

/** MLP inference: the MLP workload's weights, input x [batch, 784] N(0,1). */
export const mlpInferInput = (batch: number) => randn(batch * 784, 5);
export function mlpStateDict(): StateDict {
  const sd: StateDict = {};
  mlpParams().forEach((p, l) => {
    sd[`${2 * l}.weight`] = { data: transpose(p.w, p.fanIn, p.fanOut), shape: [p.fanOut, p.fanIn] };
    sd[`${2 * l}.bias`] = { data: p.b, shape: [p.fanOut] };
  });
  return sd;
}

/** The CNN's state dict in eval mode: cnnParams() weights, zero biases, BatchNorm at its initial
 * state (scale 1, shift 0, running mean 0, running variance 1), as every system runs it. */
export function cnnStateDict(): StateDict {
  const p = cnnParams();
  const filled = (n: number, v: number) => ({ data: new Float32Array(n).fill(v), shape: [n] });
  const bn = (i: number, c: number): StateDict => ({
    [`${i}.weight`]: filled(c, 1), [`${i}.bias`]: filled(c, 0), [`${i}.running_mean`]: filled(c, 0), [`${i}.running_var`]: filled(c, 1),
  });
  return {
    '0.weight': { data: p.conv1, shape: p.shapes.conv1 }, '0.bias': filled(32, 0), ...bn(1, 32),
    '4.weight': { data: p.conv2, shape: p.shapes.conv2 }, '4.bias': filled(64, 0), ...bn(5, 64),
    '9.weight': { data: p.fc1, shape: p.shapes.fc1 }, '9.bias': filled(128, 0),
    '11.weight': { data: p.fc2, shape: p.shapes.fc2 }, '11.bias': filled(10, 0),
  };
}

/**
 * Scaled dot-product attention: q, k, v [batch, heads, seq, headDim], no mask, scale 1/sqrt(headDim).
 * Forward: softmax(q k^T * scale) v. Backward: the gradients of sum(attention(q, k, v) * r) for q, k, v.
 */
export const ATTN = { batch: 1, heads: 8, headDim: 64, seqs: [128, 512, 2048] };
export const attnShape = (seq: number) => [ATTN.batch, ATTN.heads, seq, ATTN.headDim];
export function attnInputs(seq: number): { q: Float32Array<ArrayBuffer>; k: Float32Array<ArrayBuffer>; v: Float32Array<ArrayBuffer>; r: Float32Array<ArrayBuffer> } {
  const n = attnShape(seq).reduce((a, b) => a * b, 1);
  return { q: randn(n, 41), k: randn(n, 42), v: randn(n, 43), r: randn(n, 44) };
}
export interface AttnResult {
  msPerCall: number; // median
  chain: number;
  reps: number;
  samplesMs: number[];
  firstMs: number;
  /** the largest number of bytes the system held during one call, inputs included, where it reports it */
  peakBytes?: number;
  note?: string;
}

/** torch.nn.TransformerEncoderLayer(256, 4, 1024, relu, post-norm, batch_first) in eval mode on x [8, 128, 256]. */
export const ENCODER = { dModel: 256, heads: 4, ff: 1024, seq: 128, batch: 8, eps: 1e-5 };
export const encoderInput = () => randn(ENCODER.batch * ENCODER.seq * ENCODER.dModel, 51);
/** Weights N(0, 1/(3 fan-in)) like U(±1/sqrt(fan-in)); biases N(0, 0.02²); LayerNorm scale 1 + N(0, 0.1²), shift N(0, 0.1²). */
export function encoderStateDict(): StateDict {
  const { dModel: d, ff } = ENCODER;
  const w = (out: number, inp: number, seed: number) => ({ data: randn(out * inp, seed, 1 / Math.sqrt(3 * inp)), shape: [out, inp] });
  const b = (n: number, seed: number, scale = 0.02) => ({ data: randn(n, seed, scale), shape: [n] });
  const one = (n: number, seed: number) => { const x = b(n, seed, 0.1); for (let i = 0; i < n; i++) x.data[i] += 1; return x; };
  return {
    'self_attn.in_proj_weight': w(3 * d, d, 52), 'self_attn.in_proj_bias': b(3 * d, 53),
    'self_attn.out_proj.weight': w(d, d, 54), 'self_attn.out_proj.bias': b(d, 55),
    'linear1.weight': w(ff, d, 56), 'linear1.bias': b(ff, 57),
    'linear2.weight': w(d, ff, 58), 'linear2.bias': b(d, 59),
    'norm1.weight': one(d, 60), 'norm1.bias': b(d, 61, 0.1),
    'norm2.weight': one(d, 62), 'norm2.bias': b(d, 63, 0.1),
  };
}

/** The first few values of an output, for the report's notes: the systems should agree. */
export const head4 = (a: ArrayLike<number>) => `out[0..3] ${Array.from(a).slice(0, 4).map((x) => x.toFixed(4)).join(' ')}`;
