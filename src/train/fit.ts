// A fit loop in the manner of Keras's fit and Lightning's Trainer: compiled training steps
// (gradient clipping and accumulation inside them), validation metrics, callbacks, early
// stopping, a progress bar and a history that plots. Browser-safe: files are the caller's.
import { Tensor, tensor, zeros } from '../graph/tensor.js';
import { compile } from '../graph/jit.js';
import { noGrad } from '../graph/state.js';
import type { Module } from '../layers/module.js';
import { DataLoader, type Dataset } from './data.js';
import { ProgressBar, type ProgressStream } from './progress.js';
import { assign, type Optimizer } from './optim.js';
import { crossEntropy } from './losses.js';
import { clipGradNorm_ } from './clip.js';
import { GradScaler } from './grad_scaler.js';
import { autocast } from '../graph/autocast.js';
import type { ChartSpec } from './plot.js';

export type Logs = Record<string, number>;
export type History = Record<string, number[]>;

export interface FitContext {
  model: Module;
  optimizer: Optimizer;
  history: History;
  epoch: number;
  /** set by a callback to end training after the current epoch */
  stop: boolean;
}

export interface Callback {
  onTrainBegin?(ctx: FitContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: FitContext): void | Promise<void>;
  onBatchEnd?(batch: number, logs: Logs, ctx: FitContext): void | Promise<void>;
  onEpochEnd?(epoch: number, logs: Logs, ctx: FitContext): void | Promise<void>;
  onTrainEnd?(ctx: FitContext): void | Promise<void>;
}

/** A learning-rate schedule: stepped per epoch (ReduceLROnPlateau gets the monitored value) or per batch. */
export interface Schedule { step(metric?: number): void }

export interface FitOptions {
  epochs: number;
  batchSize?: number;
  shuffle?: boolean;
  seed?: number;
  /** shape of one example (default [featureSize]), e.g. [1, 28, 28] for a CNN */
  inputShape?: number[];
  /** loss(output, target) -> scalar; default crossEntropy on class indices */
  loss?: (output: Tensor, target: Tensor) => Tensor;
  validation?: Dataset;
  /** 'accuracy' and 'topK' (e.g. 'top5') on the validation set */
  metrics?: string[];
  scheduler?: Schedule;
  schedulerStep?: 'epoch' | 'batch';
  /** the history key ReduceLROnPlateau is stepped with (default valLoss, else loss) */
  schedulerMonitor?: string;
  clipGradNorm?: number;
  /** micro-batches per optimizer step (gradient accumulation) */
  accumulate?: number;
  /** true: forward passes and the loss run under kn.autocast (float16 matmuls and convolutions) */
  autocast?: boolean;
  /** dynamic loss scaling for float16 training: the backward pass is scaled, steps go through it */
  gradScaler?: GradScaler;
  callbacks?: Callback[];
  /** false for silence, or a stream with write() (default: process.stdout or the console) */
  progress?: boolean | ProgressStream;
}

const KNOWN = ['epochs', 'batchSize', 'shuffle', 'seed', 'inputShape', 'loss', 'validation', 'metrics', 'scheduler', 'schedulerStep', 'schedulerMonitor', 'clipGradNorm', 'accumulate', 'autocast', 'gradScaler', 'callbacks', 'progress'];

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`fit: ${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Trains `model` on `train` and returns the history of every logged value per epoch. */
export async function fit(model: Module, optimizer: Optimizer, train: Dataset, opts: FitOptions): Promise<History> {
  for (const k of Object.keys(opts)) if (!KNOWN.includes(k)) throw new Error(`fit: unknown option '${k}'; expected one of ${KNOWN.join(', ')}`);
  const epochs = positiveInt('epochs', opts.epochs);
  const batchSize = positiveInt('batchSize', opts.batchSize ?? 32);
  const accumulate = positiveInt('accumulate', opts.accumulate ?? 1);
  if (opts.clipGradNorm !== undefined && !(opts.clipGradNorm > 0)) throw new Error(`fit: clipGradNorm must be positive, got ${opts.clipGradNorm}`);
  const metrics = opts.metrics ?? ['accuracy'];
  for (const m of metrics) if (m !== 'accuracy' && !/^top\d+$/.test(m)) throw new Error(`fit: unknown metric '${m}'; expected 'accuracy' or 'topK' such as 'top5'`);
  if (opts.autocast !== undefined && typeof opts.autocast !== 'boolean') throw new Error(`fit: autocast must be true or false, got ${JSON.stringify(opts.autocast)}`);
  if (opts.gradScaler !== undefined && !(opts.gradScaler instanceof GradScaler)) throw new Error(`fit: gradScaler must be a kn.amp.GradScaler, got ${typeof opts.gradScaler}`);
  const amp = <R>(fn: () => R): R => autocast(fn, { enabled: !!opts.autocast });
  const scaler = opts.gradScaler;
  const inputShape = opts.inputShape ?? [train.featureSize];
  if (inputShape.reduce((a, b) => a * b, 1) !== train.featureSize) throw new Error(`fit: inputShape [${inputShape}] does not hold the dataset's ${train.featureSize} features per example`);
  const lossFn = opts.loss ?? ((out: Tensor, y: Tensor) => crossEntropy(out, y));
  const callbacks = opts.callbacks ?? [];
  const params = optimizer.paramGroups.flatMap((g) => g.params);
  const loader = new DataLoader(train, { batchSize, shuffle: opts.shuffle ?? true, seed: opts.seed ?? 0 });
  const ctx: FitContext = { model, optimizer, history: {}, epoch: 0, stop: false };

  // the epoch's summed loss stays on the GPU; it is read once per epoch
  const lossSum = zeros([]);
  const forwardBackward = (x: Tensor, y: Tensor, scale: number) => {
    const loss = amp(() => lossFn(model.forward(x), y));
    const scaled = scaler ? scaler.scale(loss) : loss;
    (scale === 1 ? scaled : scaled.mul(scale)).backward();
    noGrad(() => assign(lossSum, lossSum.add(loss)));
    return loss;
  };
  const update = () => {
    // clipping needs the true gradients: a scaler unscales them first (as PyTorch's recipe)
    if (opts.clipGradNorm && scaler) scaler.unscale_(optimizer);
    if (opts.clipGradNorm) clipGradNorm_(params, opts.clipGradNorm);
    if (scaler) { scaler.step(optimizer); scaler.update(); } else optimizer.step();
    optimizer.zeroGrad();
  };
  // one micro-batch per call; with accumulation, gradients collect in persistent buffers
  const accs = accumulate > 1 ? params.map((p) => zeros(p.shape)) : [];
  const trainStep = compile((x: Tensor, y: Tensor) => {
    const loss = forwardBackward(x, y, 1 / accumulate);
    if (accumulate === 1) update();
    else {
      noGrad(() => params.forEach((p, i) => { if (p.grad) assign(accs[i], accs[i].add(p.grad)); }));
      optimizer.zeroGrad();
    }
    return loss;
  });
  const applyAccumulated = compile(() => {
    params.forEach((p, i) => { p.grad = accs[i]; });
    update();
    noGrad(() => accs.forEach((a) => assign(a, a.mul(0))));
  });
  const evalStep = compile((x: Tensor, y: Tensor) => amp(() => {
    const out = model.forward(x);
    const r: Record<string, Tensor> = { loss: lossFn(out, y).mul(y.shape[0]) };
    for (const m of metrics) {
      if (m === 'accuracy') r[m] = out.argmax(1).eq(y).float().sum();
      else {
        // target in the top k: fewer than k classes score strictly higher
        const k = Number(m.slice(3));
        const target = out.gather(1, y.unsqueeze(1));
        r[m] = out.gt(target).float().sum(1).lt(k).float().sum();
      }
    }
    return r;
  }));

  const stream = opts.progress === false ? null : opts.progress === true || opts.progress === undefined ? undefined : opts.progress;
  for (const c of callbacks) await c.onTrainBegin?.(ctx);
  for (let epoch = 1; epoch <= epochs && !ctx.stop; epoch++) {
    ctx.epoch = epoch;
    for (const c of callbacks) await c.onEpochBegin?.(epoch, ctx);
    model.train();
    const bar = stream === null ? null : new ProgressBar({ total: loader.length, label: `epoch ${epoch}/${epochs}`, stream });
    const t0 = performance.now();
    let seen = 0, batch = 0, pending = 0, lastLoss = NaN;
    const readEvery = Math.max(1, Math.floor(loader.length / 50));
    for (const b of loader) {
      const x = tensor(b.x, [b.size, ...inputShape]), y = tensor(b.y, [b.size], { dtype: 'int32' });
      const loss = await trainStep(x, y);
      x.dispose(); y.dispose();
      if (accumulate > 1 && ++pending === accumulate) { await applyAccumulated(); pending = 0; }
      if (opts.schedulerStep === 'batch') opts.scheduler?.step();
      seen += b.size; batch++;
      // reading a value waits for the GPU: only now and then, and when a callback wants it
      const wantLogs = batch % readEvery === 0 || batch === loader.length || callbacks.some((c) => c.onBatchEnd);
      if (wantLogs) lastLoss = await loss.item();
      loss.dispose();
      if (callbacks.some((c) => c.onBatchEnd)) for (const c of callbacks) await c.onBatchEnd?.(batch, { loss: lastLoss }, ctx);
      bar?.update(batch, { loss: lastLoss, 'ex/s': (seen * 1000) / (performance.now() - t0) });
    }
    if (pending) await applyAccumulated();
    const logs: Logs = { loss: (await lossSum.item()) / loader.length, lr: optimizer.paramGroups[0].lr };
    noGrad(() => assign(lossSum, lossSum.mul(0)));
    if (opts.validation) Object.assign(logs, await evaluate(opts.validation));
    for (const [k, v] of Object.entries(logs)) (ctx.history[k] ??= []).push(v);
    bar?.finish(Object.fromEntries(Object.entries(logs).filter(([k]) => k !== 'lr').map(([k, v]) => [k, k.startsWith('val') && k !== 'valLoss' ? `${(v * 100).toFixed(2)}%` : v])));
    if (opts.scheduler && opts.schedulerStep !== 'batch') {
      const monitor = opts.schedulerMonitor ?? (logs.valLoss !== undefined ? 'valLoss' : 'loss');
      opts.scheduler.step(logs[monitor]);
    }
    for (const c of callbacks) await c.onEpochEnd?.(epoch, logs, ctx);
  }
  for (const c of callbacks) await c.onTrainEnd?.(ctx);
  lossSum.dispose();
  return ctx.history;

  async function evaluate(data: Dataset): Promise<Logs> {
    model.eval();
    const sums: Record<string, number> = {};
    for (const b of new DataLoader(data, { batchSize: Math.max(batchSize, 256) })) {
      const x = tensor(b.x, [b.size, ...inputShape]), y = tensor(b.y, [b.size], { dtype: 'int32' });
      const r = await evalStep(x, y);
      for (const [k, v] of Object.entries(r)) { sums[k] = (sums[k] ?? 0) + (await v.item()); v.dispose(); }
      x.dispose(); y.dispose();
    }
    model.train();
    const name = (k: string) => `val${k[0].toUpperCase()}${k.slice(1)}`;
    return Object.fromEntries(Object.entries(sums).map(([k, v]) => [name(k), v / data.n]));
  }
}

/** Stops training when a monitored value has not improved for `patience` epochs (Keras's EarlyStopping). */
export class EarlyStopping implements Callback {
  best = NaN;
  bestEpoch = 0;
  private wait = 0;
  private snapshot: Record<string, Tensor> | null = null;
  readonly monitor: string;
  private readonly sign: number;
  constructor(private readonly opts: { monitor?: string; patience?: number; minDelta?: number; mode?: 'min' | 'max' | 'auto'; restoreBestWeights?: boolean } = {}) {
    this.monitor = opts.monitor ?? 'valLoss';
    const mode = opts.mode ?? 'auto';
    if (!['min', 'max', 'auto'].includes(mode)) throw new Error(`EarlyStopping: mode must be 'min', 'max' or 'auto', got '${mode}'`);
    this.sign = mode === 'max' || (mode === 'auto' && /acc|top/i.test(this.monitor)) ? -1 : 1;
    if ((opts.patience ?? 0) < 0) throw new Error(`EarlyStopping: patience must be >= 0, got ${opts.patience}`);
  }
  async onEpochEnd(epoch: number, logs: Logs, ctx: FitContext): Promise<void> {
    const v = logs[this.monitor];
    if (v === undefined) throw new Error(`EarlyStopping: '${this.monitor}' is not logged; logged values: ${Object.keys(logs).join(', ')}`);
    const improved = Number.isNaN(this.best) || this.sign * (this.best - v) > (this.opts.minDelta ?? 0);
    if (improved) {
      this.best = v; this.bestEpoch = epoch; this.wait = 0;
      if (this.opts.restoreBestWeights) {
        for (const t of Object.values(this.snapshot ?? {})) t.dispose();
        const sd = ctx.model.stateDict();
        // copies made on the GPU, realized now (the live parameters change with the next step)
        this.snapshot = Object.fromEntries(Object.entries(sd).map(([k, t]) => [k, t.add(0)]));
        await Promise.all(Object.values(this.snapshot).map((t) => t.data()));
      }
    } else if (++this.wait > (this.opts.patience ?? 0)) ctx.stop = true;
  }
  async onTrainEnd(ctx: FitContext): Promise<void> {
    if (this.snapshot) { ctx.model.loadStateDict(this.snapshot); for (const t of Object.values(this.snapshot)) t.dispose(); this.snapshot = null; }
  }
}

/** Charts of a history: loss (train and validation) and every validation metric, per epoch. */
export function historyCharts(history: History, title = ''): ChartSpec[] {
  const charts: ChartSpec[] = [{
    title: `${title}loss`, xLabel: 'epoch', yLabel: 'loss',
    series: [{ name: 'train', values: history.loss ?? [] }, ...(history.valLoss ? [{ name: 'validation', values: history.valLoss }] : [])],
  }];
  const metrics = Object.keys(history).filter((k) => k.startsWith('val') && k !== 'valLoss');
  if (metrics.length) {
    charts.push({
      title: `${title}validation metrics`, xLabel: 'epoch', yLabel: '%',
      series: metrics.map((k) => ({ name: k.slice(3).toLowerCase(), values: history[k].map((v) => v * 100) })),
    });
  }
  return charts;
}
