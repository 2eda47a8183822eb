// kn.amp.GradScaler: PyTorch's dynamic loss scaling for float16 training. The loss is
// multiplied by a scale so small float16 gradients do not flush to zero; before the optimizer
// steps, the gradients are divided by it and checked for inf/NaN. Everything happens on the
// GPU with no read-back inside a step: the scale, the growth tracker and each optimizer's
// found-inf flag are device scalars, a step with an inf or NaN is skipped inside the
// optimizer's fused update (a select between the old and the new values), and update()
// backs the scale off or grows it with a select too. So one compiled step holds the whole
// iteration and replays without retracing.
import { Tensor, constant } from '../graph/tensor.js';
import { DeviceScalar } from '../graph/scalar.js';
import { noGrad } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { Optimizer } from './optim.js';

export interface GradScalerOptions {
  /** the first scale (default 2^16) */
  initScale?: number;
  /** the scale is multiplied by this after growthInterval steps without inf/NaN (default 2) */
  growthFactor?: number;
  /** the scale is multiplied by this after a step with inf/NaN (default 0.5) */
  backoffFactor?: number;
  /** steps without inf/NaN between growths (default 2000) */
  growthInterval?: number;
  /** false: every method passes through (scale returns its input, step calls optimizer.step()) */
  enabled?: boolean;
}

/** PyTorch's GradScaler.state_dict(), key for key. */
export interface GradScalerState { scale: number; growth_factor: number; backoff_factor: number; growth_interval: number; _growth_tracker: number }

/** Where an optimizer is in the current iteration (PyTorch's OptState). */
type Stage = 'unscaled' | 'stepped';

const OPTION_KEYS = ['initScale', 'growthFactor', 'backoffFactor', 'growthInterval', 'enabled'];
const STATE_KEYS = ['scale', 'growth_factor', 'backoff_factor', 'growth_interval', '_growth_tracker'];

function fail(where: string, msg: string): never { throw new Error(`GradScaler${where}: ${msg}`); }
const show = (v: unknown) => (typeof v === 'number' ? String(v) : JSON.stringify(v) ?? String(v));

/** Checks one hyper-parameter: a number in range (ints where `integer`). */
function checkNumber(where: string, name: string, v: unknown, ok: (x: number) => boolean, want: string, integer = false): number {
  if (typeof v !== 'number' || Number.isNaN(v) || !ok(v) || (integer && !Number.isInteger(v))) fail(where, `${name} must be ${want}, got ${show(v)}`);
  return v;
}
const checkScale = (w: string, n: string, v: unknown) => checkNumber(w, n, v, (x) => x > 0 && Number.isFinite(x), 'a finite number > 0');
const checkGrowth = (w: string, n: string, v: unknown) => checkNumber(w, n, v, (x) => x > 1 && Number.isFinite(x), 'a finite number > 1');
const checkBackoff = (w: string, n: string, v: unknown) => checkNumber(w, n, v, (x) => x > 0 && x < 1, 'a number in (0, 1)');
const checkInterval = (w: string, n: string, v: unknown) => checkNumber(w, n, v, (x) => x >= 1 && x <= 2 ** 31 - 1, 'an integer >= 1', true);
const checkTracker = (w: string, n: string, v: unknown) => checkNumber(w, n, v, (x) => x >= 0 && x <= 2 ** 31 - 1, 'an integer >= 0', true);

export class GradScaler {
  private readonly enabled: boolean;
  // host copies of the hyper-parameters, for the getters and stateDict (the device scalars
  // below hold the values a compiled step reads, so setters need no retrace)
  private growthFactor: number;
  private backoffFactor: number;
  private growthInterval: number;
  private initScale: number;
  private initGrowthTracker = 0;
  /** created with the first scale() (as PyTorch's lazily created _scale) */
  private dev: { scale: DeviceScalar; tracker: DeviceScalar; growthFactor: DeviceScalar; backoffFactor: DeviceScalar; growthInterval: DeviceScalar } | null = null;
  /** each optimizer's found-inf flag (0 or 1), a persistent device scalar */
  private foundInf = new Map<Optimizer, DeviceScalar>();
  /** optimizers unscaled or stepped since the last update() */
  private stages = new Map<Optimizer, Stage>();

  constructor(opts: GradScalerOptions = {}) {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) fail('', `options must be an object, got ${show(opts)}`);
    for (const k of Object.keys(opts)) if (!OPTION_KEYS.includes(k)) fail('', `unknown option '${k}'; expected one of ${OPTION_KEYS.join(', ')}`);
    const { initScale = 2 ** 16, growthFactor = 2, backoffFactor = 0.5, growthInterval = 2000, enabled = true } = opts;
    if (typeof enabled !== 'boolean') fail('', `enabled must be true or false, got ${show(enabled)}`);
    this.initScale = checkScale('', 'initScale', initScale);
    this.growthFactor = checkGrowth('', 'growthFactor', growthFactor);
    this.backoffFactor = checkBackoff('', 'backoffFactor', backoffFactor);
    this.growthInterval = checkInterval('', 'growthInterval', growthInterval);
    this.enabled = enabled;
  }

  isEnabled(): boolean { return this.enabled; }

  /** The device scalars, created on first use. */
  private device() {
    this.dev ??= {
      scale: new DeviceScalar(this.initScale),
      tracker: new DeviceScalar(this.initGrowthTracker, 'int32'),
      growthFactor: new DeviceScalar(this.growthFactor),
      backoffFactor: new DeviceScalar(this.backoffFactor),
      growthInterval: new DeviceScalar(this.growthInterval, 'int32'),
    };
    return this.dev;
  }

  /** outputs times the scale (a Tensor, or each Tensor of an array); unchanged when disabled. */
  scale(outputs: Tensor): Tensor;
  scale(outputs: Tensor[]): Tensor[];
  scale(outputs: Tensor | Tensor[]): Tensor | Tensor[] {
    const ok = outputs instanceof Tensor || (Array.isArray(outputs) && outputs.every((t) => t instanceof Tensor));
    if (!ok) fail('.scale', `outputs must be a Tensor or an array of Tensors, got ${Array.isArray(outputs) ? 'an array with other things in it' : typeof outputs}`);
    if (!this.enabled) return outputs;
    const s = this.device().scale;
    return Array.isArray(outputs) ? outputs.map((t) => t.mul(s)) : outputs.mul(s);
  }

  private checkOptimizer(where: string, optimizer: unknown): Optimizer {
    if (!(optimizer instanceof Optimizer)) fail(where, `optimizer must be a kn.optim optimizer, got ${optimizer === null ? 'null' : typeof optimizer}`);
    return optimizer;
  }

  private started(where: string): NonNullable<GradScaler['dev']> {
    if (!this.dev) fail(where, 'the scale does not exist yet: call scaler.scale(loss) earlier in the iteration (as PyTorch requires)');
    return this.dev;
  }

  /**
   * Divides the optimizer's gradients by the scale in place (p.grad becomes the unscaled
   * gradient) and records on the GPU whether any of them held an inf or NaN (checked before
   * the division, as PyTorch's kernel). Call it before gradient clipping; step() then does not
   * unscale again. Once per optimizer per iteration.
   */
  unscale_(optimizer: Optimizer): void {
    this.checkOptimizer('.unscale_', optimizer);
    if (!this.enabled) return;
    const stage = this.stages.get(optimizer);
    if (stage === 'unscaled') fail('.unscale_', 'unscale_() has already been called on this optimizer since the last update()');
    if (stage === 'stepped') fail('.unscale_', 'unscale_() is being called after step()');
    const { scale } = this.started('.unscale_');
    noGrad(() => {
      const inv = constant(1, [], 'float32').div(scale);
      let allFinite: Tensor | null = null;
      for (const g of optimizer.paramGroups) {
        for (const p of g.params) {
          if (!p.grad) continue;
          const finite = p.grad.isfinite().float().min();
          allFinite = allFinite ? allFinite.minimum(finite) : finite;
          p.grad = p.grad.mul(inv);
        }
      }
      this.flag(optimizer).update(allFinite ? allFinite.neg().add(1) : constant(0, [], 'float32'));
    });
    this.stages.set(optimizer, 'unscaled');
  }

  /** The optimizer's found-inf device scalar. */
  private flag(optimizer: Optimizer): DeviceScalar {
    let f = this.foundInf.get(optimizer);
    if (!f) { f = new DeviceScalar(0); this.foundInf.set(optimizer, f); }
    return f;
  }

  /**
   * Unscales the gradients (unless unscale_ did), then steps the optimizer on the GPU unless
   * they held an inf or NaN, in which case parameters and optimizer state keep their values.
   * Calls optimizer.step() when disabled.
   */
  step(optimizer: Optimizer): void {
    this.checkOptimizer('.step', optimizer);
    if (!this.enabled) { optimizer.step(); return; }
    const stage = this.stages.get(optimizer);
    if (stage === 'stepped') fail('.step', 'step() has already been called since the last update()');
    if (!stage) this.unscale_(optimizer);
    optimizer.stepUnlessFound(this.flag(optimizer));
    this.stages.set(optimizer, 'stepped');
  }

  /**
   * Updates the scale for the next iteration, on the GPU: times backoffFactor if any optimizer
   * stepped (or unscaled) this iteration found an inf or NaN, times growthFactor after
   * growthInterval steps in a row without (unless that overflows), else unchanged. With
   * `newScale` (a number or a one-element tensor) the scale is set to it instead.
   */
  update(newScale?: number | Tensor): void {
    if (!this.enabled) return;
    const d = this.started('.update');
    if (newScale !== undefined) {
      if (newScale instanceof Tensor) {
        if (newScale.numel() !== 1 || newScale.dtype !== 'float32' || newScale.requiresGrad) fail('.update', `newScale must be a number or a one-element float32 tensor that does not require grad, got shape ${shapeStr(newScale.shape)} ${newScale.dtype}${newScale.requiresGrad ? ' requiring grad' : ''}`);
        d.scale.update(newScale.reshape().detach());
      } else d.scale.value = checkScale('.update', 'newScale', newScale);
      this.stages.clear();
      return;
    }
    if (!this.stages.size) fail('.update', 'no inf checks were recorded prior to update(): call scaler.step(optimizer) (or scaler.unscale_(optimizer)) first');
    noGrad(() => {
      let found: Tensor | null = null;
      for (const o of this.stages.keys()) found = found ? found.maximum(this.flag(o)) : this.flag(o);
      const inf = found!.ne(0);
      // PyTorch's _amp_update_scale_ kernel, as selects
      const successful = d.tracker.add(1);
      const grow = successful.eq(d.growthInterval);
      const grown = d.scale.mul(d.growthFactor);
      const scale = inf.where(d.scale.mul(d.backoffFactor), grow.logicalAnd(grown.isfinite()).where(grown, d.scale));
      const tracker = inf.logicalOr(grow).where(0, successful);
      d.scale.update(scale);
      d.tracker.update(tracker.cast('int32'));
    });
    this.stages.clear();
  }

  /** The current scale, read back (1 when disabled). */
  async getScale(): Promise<number> {
    if (!this.enabled) return 1;
    return this.dev ? this.dev.scale.read() : this.initScale;
  }
  getGrowthFactor(): number { return this.growthFactor; }
  setGrowthFactor(v: number): void { this.growthFactor = checkGrowth('.setGrowthFactor', 'growthFactor', v); if (this.dev) this.dev.growthFactor.value = v; }
  getBackoffFactor(): number { return this.backoffFactor; }
  setBackoffFactor(v: number): void { this.backoffFactor = checkBackoff('.setBackoffFactor', 'backoffFactor', v); if (this.dev) this.dev.backoffFactor.value = v; }
  getGrowthInterval(): number { return this.growthInterval; }
  setGrowthInterval(v: number): void { this.growthInterval = checkInterval('.setGrowthInterval', 'growthInterval', v); if (this.dev) this.dev.growthInterval.value = v; }
  private async growthTracker(): Promise<number> { return this.dev ? this.dev.tracker.read() : this.initGrowthTracker; }

  /** PyTorch's state_dict(): {scale, growth_factor, backoff_factor, growth_interval, _growth_tracker}; {} when disabled. */
  async stateDict(): Promise<GradScalerState | Record<string, never>> {
    if (!this.enabled) return {};
    return { scale: await this.getScale(), growth_factor: this.growthFactor, backoff_factor: this.backoffFactor, growth_interval: this.growthInterval, _growth_tracker: await this.growthTracker() };
  }

  /** PyTorch's load_state_dict(): every key checked before anything changes; nothing happens when disabled. */
  loadStateDict(sd: GradScalerState): void {
    const w = '.loadStateDict';
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd)) fail(w, `expected an object with keys ${STATE_KEYS.join(', ')}, got ${show(sd)}`);
    if (!this.enabled) return;
    if (!Object.keys(sd).length) fail(w, 'the source state dict is empty, possibly because it was saved from a disabled GradScaler');
    for (const k of Object.keys(sd)) if (!STATE_KEYS.includes(k)) fail(w, `unknown key '${k}'; expected ${STATE_KEYS.join(', ')}`);
    for (const k of STATE_KEYS) if (!(k in sd)) fail(w, `missing key '${k}'`);
    const scale = checkScale(w, 'scale', sd.scale);
    const growthFactor = checkGrowth(w, 'growth_factor', sd.growth_factor);
    const backoffFactor = checkBackoff(w, 'backoff_factor', sd.backoff_factor);
    const growthInterval = checkInterval(w, 'growth_interval', sd.growth_interval);
    const tracker = checkTracker(w, '_growth_tracker', sd._growth_tracker);
    this.initScale = scale;
    this.initGrowthTracker = tracker;
    this.growthFactor = growthFactor; this.backoffFactor = backoffFactor; this.growthInterval = growthInterval;
    if (this.dev) {
      this.dev.scale.value = scale; this.dev.tracker.value = tracker;
      this.dev.growthFactor.value = growthFactor; this.dev.backoffFactor.value = backoffFactor; this.dev.growthInterval.value = growthInterval;
    }
  }
}
