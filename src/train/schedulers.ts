// Learning-rate schedulers with torch.optim.lr_scheduler's semantics (PyTorch 1.13): the
// constructor applies the first learning rate (lastEpoch = 0), step() advances one epoch (or
// batch), getLastLr() returns the learning rate of every parameter group, and
// stateDict()/loadStateDict() use PyTorch's keys (last_epoch, base_lrs, _step_count, ...).
//
// The rates are host doubles computed exactly as PyTorch computes them (its recursive
// "chainable" forms where it uses them), then written to `opt.paramGroups[i].lr`, which is a
// GPU scalar: a compiled training step reads the new rate without retracing.
//
// Like PyTorch, schedulers keep a few values in the optimizer's parameter groups, under
// Kiln's camelCase names: `initialLr` (PyTorch's initial_lr: the base rate shared by every
// scheduler on the optimizer) and, for OneCycleLR, `maxLr`, `minLr`, `maxMomentum`,
// `baseMomentum`.
import { Optimizer, type ParamGroup } from './optim.js';

// ------------------------------------------------------------------ argument checks

function fail(who: string, what: string): never { throw new Error(`${who}: ${what}`); }

function checkOptions(who: string, opts: object | undefined, known: string[]): Record<string, any> {
  if (opts === undefined) return {};
  if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) fail(who, `options must be an object, got ${JSON.stringify(opts)}`);
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) fail(who, `unknown option '${k}'; expected one of ${known.join(', ')}`);
  }
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}

function isNum(v: unknown): v is number { return typeof v === 'number' && Number.isFinite(v); }

function checkInt(who: string, name: string, v: unknown, min: number): number {
  if (!isNum(v) || !Number.isInteger(v) || v < min) fail(who, `${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function checkNum(who: string, name: string, v: unknown, lo: number, hi: number, { loOpen = false, hiOpen = false } = {}): number {
  if (!isNum(v) || v < lo || v > hi || (loOpen && v === lo) || (hiOpen && v === hi)) {
    const range = hi === Infinity ? `${loOpen ? '>' : '>='} ${lo}` : `in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
    fail(who, `${name} must be a finite number ${range}, got ${String(v)}`);
  }
  return v;
}

function checkChoice<T extends string>(who: string, name: string, v: unknown, choices: readonly T[]): T {
  if (!choices.includes(v as T)) fail(who, `${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${JSON.stringify(v)}`);
  return v as T;
}

function checkBool(who: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') fail(who, `${name} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** A number for every group, or one number for all of them (PyTorch's _format_param). */
function perGroup(who: string, name: string, v: unknown, n: number, check: (x: unknown, name: string) => number): number[] {
  if (Array.isArray(v)) {
    if (v.length !== n) fail(who, `expected ${n} values for ${name} (one per parameter group), got ${v.length}`);
    return v.map((x, i) => check(x, `${name}[${i}]`));
  }
  return new Array(n).fill(check(v, name));
}

function checkOptimizer(who: string, opt: unknown): Optimizer {
  if (!(opt instanceof Optimizer)) fail(who, `the first argument must be a Kiln optimizer (kn.optim.SGD, Adam, ...), got ${opt === null ? 'null' : typeof opt === 'object' ? (opt as object).constructor?.name ?? 'an object' : typeof opt}`);
  return opt;
}

/** Index of the first element greater than x in a sorted list (Python's bisect_right). */
function bisectRight(a: number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (x < a[mid]) hi = mid; else lo = mid + 1; }
  return lo;
}

const copy = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

/** A scheduler's state: PyTorch's state_dict keys, JSON-safe values. */
export type SchedulerState = Record<string, any>;

// ------------------------------------------------------------------ the base class

/**
 * The base of the epoch-driven schedulers (PyTorch's _LRScheduler). Subclasses compute the
 * next rates in `computeLr()` from the current ones (PyTorch's get_lr) and, where PyTorch has
 * one, in `closedFormLr()` from `lastEpoch` alone (used by SequentialLR at its milestones).
 */
export abstract class LRScheduler {
  readonly optimizer: Optimizer;
  /** the number of step() calls since the schedule started; 0 right after construction */
  lastEpoch = -1;
  /** each group's rate before scheduling (its `initialLr`) */
  baseLrs: number[] = [];
  protected stepCount = 0;
  protected lastLr: number[] = [];
  /** [PyTorch state_dict key, property] for the subclass's own state, in PyTorch's order */
  protected abstract readonly stateKeys: [string, string][];

  protected constructor(optimizer: Optimizer, protected readonly who: string) {
    this.optimizer = checkOptimizer(who, optimizer);
  }

  /** PyTorch's _LRScheduler.__init__ with last_epoch = -1: record base rates, apply the first rate. */
  protected start(): void {
    for (const g of this.optimizer.paramGroups) if (g.initialLr === undefined) g.initialLr = g.lr;
    this.baseLrs = this.optimizer.paramGroups.map((g) => g.initialLr as number);
    this.lastEpoch = -1;
    this.initialStep();
  }

  /** PyTorch's _initial_step: restart the step count and apply the rate of epoch lastEpoch + 1. */
  initialStep(): void {
    this.stepCount = 0;
    this.step();
  }

  /** The rates for `lastEpoch`, from the current ones (PyTorch's get_lr). */
  protected abstract computeLr(): number[];
  /** The rates for `lastEpoch` from the base rates alone, where PyTorch has a closed form. */
  protected closedFormLr(): number[] | null { return null; }

  /**
   * Advances the schedule one epoch (or batch) and writes the new rates to the optimizer.
   * Takes no argument: PyTorch's deprecated `step(epoch)` is `stepTo(epoch)` here, and a
   * value passed by a generic caller (kn.train.fit passes its monitored metric) is ignored.
   */
  step(): void { this.advance(this.lastEpoch + 1, false); }

  /**
   * PyTorch's deprecated `step(epoch)`: jumps to `epoch`, using the closed form where the
   * scheduler has one (SequentialLR relies on this at its milestones).
   */
  stepTo(epoch: number): void {
    checkInt(this.who, 'epoch', epoch, 0);
    this.advance(epoch, true);
  }

  private advance(epoch: number, closed: boolean): void {
    const prev = this.lastEpoch;
    this.lastEpoch = epoch;
    let values: number[];
    try {
      values = (closed ? this.closedFormLr() : null) ?? this.computeLr();
    } catch (e) { this.lastEpoch = prev; throw e; }
    this.stepCount += 1;
    this.optimizer.paramGroups.forEach((g, i) => { setLr(g, values[i]); });
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  /** The rate of every parameter group, as last set by this scheduler. */
  getLastLr(): number[] { return [...this.lastLr]; }

  /** PyTorch's state_dict: every attribute but the optimizer, under PyTorch's names. */
  stateDict(): SchedulerState {
    const sd: SchedulerState = {};
    for (const [key, prop] of this.stateKeys) sd[key] = this.saveValue(key, (this as any)[prop]);
    Object.assign(sd, {
      base_lrs: [...this.baseLrs], last_epoch: this.lastEpoch, verbose: false,
      _step_count: this.stepCount, _get_lr_called_within_step: false, _last_lr: [...this.lastLr],
    });
    return sd;
  }

  /** Restores a state from stateDict() (PyTorch's load_state_dict: the keys given are set). */
  loadStateDict(sd: SchedulerState): void {
    const props = new Map<string, string>([...this.stateKeys,
      ['base_lrs', 'baseLrs'], ['last_epoch', 'lastEpoch'], ['_step_count', 'stepCount'], ['_last_lr', 'lastLr']]);
    const ignored = ['verbose', '_get_lr_called_within_step'];
    if (sd === null || typeof sd !== 'object') fail(this.who, `loadStateDict: expected a state object, got ${String(sd)}`);
    for (const k of Object.keys(sd)) {
      if (!props.has(k) && !ignored.includes(k)) fail(this.who, `loadStateDict: unknown key '${k}'; expected ${[...props.keys(), ...ignored].join(', ')}`);
    }
    const n = this.optimizer.paramGroups.length;
    for (const k of ['base_lrs', '_last_lr']) {
      if (k in sd && (!Array.isArray(sd[k]) || sd[k].length !== n)) fail(this.who, `loadStateDict: ${k} must hold ${n} numbers (one per parameter group), got ${JSON.stringify(sd[k])}`);
    }
    for (const k of ['last_epoch', '_step_count']) if (k in sd) checkInt(this.who, `loadStateDict: ${k}`, sd[k], -1);
    for (const [k, prop] of props) if (k in sd) (this as any)[prop] = this.loadValue(k, copy(sd[k]));
    if ('_last_lr' in sd) restoreLrs(this.optimizer, this.lastLr);
  }

  /** Hooks for state values that are not plain JSON in Kiln's representation. */
  protected saveValue(_key: string, v: unknown): unknown { return copy(v); }
  protected loadValue(_key: string, v: unknown): unknown { return v; }
}

/**
 * Kiln's optimizers have no state dict yet, so loading a scheduler's state also puts back the
 * rates it last set (`_last_lr`) into the optimizer's groups: a fresh optimizer and scheduler,
 * built as before, then continue exactly where the saved run was. (PyTorch restores them from
 * the optimizer's state dict; after both loads the groups hold the same values.)
 */
function restoreLrs(opt: Optimizer, lrs: number[]): void { opt.paramGroups.forEach((g, i) => setLr(g, lrs[i])); }

/**
 * Kiln's optimizers reject a negative rate. PyTorch's linear OneCycleLR extrapolates one step
 * past its end (the step numbered totalSteps, whose rate no batch uses) to below zero; Kiln
 * writes 0 there instead. No other schedule here produces a negative rate.
 */
function setLr(g: ParamGroup, v: number): void { g.lr = v < 0 ? 0 : v; }

// ------------------------------------------------------------------ the schedulers

/** Multiplies each group's rate by `gamma` every `stepSize` epochs. */
export class StepLR extends LRScheduler {
  stepSize: number;
  gamma: number;
  protected readonly stateKeys: [string, string][] = [['step_size', 'stepSize'], ['gamma', 'gamma']];
  constructor(optimizer: Optimizer, stepSize: number, opts: { gamma?: number } = {}) {
    super(optimizer, 'StepLR');
    const o = checkOptions('StepLR', opts, ['gamma']);
    this.stepSize = checkInt('StepLR', 'stepSize', stepSize, 1);
    this.gamma = checkNum('StepLR', 'gamma', o.gamma ?? 0.1, 0, Infinity, { loOpen: true });
    this.start();
  }
  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (this.lastEpoch === 0 || this.lastEpoch % this.stepSize !== 0) return lrs;
    return lrs.map((lr) => lr * this.gamma);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => b * this.gamma ** Math.floor(this.lastEpoch / this.stepSize));
  }
}

/**
 * Multiplies each group's rate by `gamma` at each milestone epoch. Milestones are
 * non-decreasing integers; a repeated milestone applies gamma once per occurrence (PyTorch
 * counts them).
 */
export class MultiStepLR extends LRScheduler {
  milestones: Map<number, number>;
  gamma: number;
  protected readonly stateKeys: [string, string][] = [['milestones', 'milestones'], ['gamma', 'gamma']];
  constructor(optimizer: Optimizer, milestones: number[], opts: { gamma?: number } = {}) {
    super(optimizer, 'MultiStepLR');
    const o = checkOptions('MultiStepLR', opts, ['gamma']);
    this.milestones = MultiStepLR.count(milestones);
    this.gamma = checkNum('MultiStepLR', 'gamma', o.gamma ?? 0.1, 0, Infinity, { loOpen: true });
    this.start();
  }
  private static count(milestones: unknown): Map<number, number> {
    if (!Array.isArray(milestones)) fail('MultiStepLR', `milestones must be an array of epoch numbers, got ${JSON.stringify(milestones)}`);
    const m = new Map<number, number>();
    milestones.forEach((v, i) => {
      checkInt('MultiStepLR', `milestones[${i}]`, v, 0);
      if (i > 0 && v < milestones[i - 1]) fail('MultiStepLR', `milestones must be increasing, got [${milestones.join(', ')}]`);
      m.set(v, (m.get(v) ?? 0) + 1);
    });
    return m;
  }
  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    const n = this.milestones.get(this.lastEpoch);
    if (n === undefined) return lrs;
    return lrs.map((lr) => lr * this.gamma ** n);
  }
  protected override closedFormLr(): number[] {
    const sorted = [...this.milestones].sort((a, b) => a[0] - b[0]).flatMap(([m, c]) => new Array(c).fill(m));
    return this.baseLrs.map((b) => b * this.gamma ** bisectRight(sorted, this.lastEpoch));
  }
  // PyTorch keeps a Counter {milestone: count}; JSON keys are strings
  protected override saveValue(key: string, v: unknown): unknown {
    if (key === 'milestones') return Object.fromEntries([...(v as Map<number, number>)].map(([m, c]) => [String(m), c]));
    return super.saveValue(key, v);
  }
  protected override loadValue(key: string, v: unknown): unknown {
    if (key !== 'milestones') return v;
    if (Array.isArray(v)) return MultiStepLR.count(v);
    if (v === null || typeof v !== 'object') fail('MultiStepLR', `loadStateDict: milestones must be {epoch: count}, got ${JSON.stringify(v)}`);
    return new Map(Object.entries(v as object).map(([m, c]) => [checkInt('MultiStepLR', 'milestone', Number(m), 0), checkInt('MultiStepLR', `count of milestone ${m}`, c, 1)]));
  }
}

/** Multiplies each group's rate by `gamma` every epoch. */
export class ExponentialLR extends LRScheduler {
  gamma: number;
  protected readonly stateKeys: [string, string][] = [['gamma', 'gamma']];
  constructor(optimizer: Optimizer, gamma: number) {
    super(optimizer, 'ExponentialLR');
    this.gamma = checkNum('ExponentialLR', 'gamma', gamma, 0, Infinity, { loOpen: true });
    this.start();
  }
  protected computeLr(): number[] {
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    return this.lastEpoch === 0 ? lrs : lrs.map((lr) => lr * this.gamma);
  }
  protected override closedFormLr(): number[] { return this.baseLrs.map((b) => b * this.gamma ** this.lastEpoch); }
}

/**
 * Cosine annealing from each group's base rate to `etaMin` over `tMax` epochs, in PyTorch's
 * recursive form (so it composes with other changes to the rate). Past `tMax` the rate climbs
 * back up along the same cosine, as PyTorch's does.
 */
export class CosineAnnealingLR extends LRScheduler {
  tMax: number;
  etaMin: number;
  protected readonly stateKeys: [string, string][] = [['T_max', 'tMax'], ['eta_min', 'etaMin']];
  constructor(optimizer: Optimizer, tMax: number, opts: { etaMin?: number } = {}) {
    super(optimizer, 'CosineAnnealingLR');
    const o = checkOptions('CosineAnnealingLR', opts, ['etaMin']);
    this.tMax = checkInt('CosineAnnealingLR', 'tMax', tMax, 1);
    this.etaMin = checkNum('CosineAnnealingLR', 'etaMin', o.etaMin ?? 0, 0, Infinity);
    this.start();
  }
  protected computeLr(): number[] {
    const { lastEpoch: e, tMax: T, etaMin } = this;
    const groups = this.optimizer.paramGroups;
    if (e === 0) return groups.map((g) => g.lr);
    if (this.stepCount === 1 && e > 0) {
      return this.baseLrs.map((b) => etaMin + (b - etaMin) * (1 + Math.cos(e * Math.PI / T)) / 2);
    }
    if ((e - 1 - T) % (2 * T) === 0) {
      return groups.map((g, i) => g.lr + (this.baseLrs[i] - etaMin) * (1 - Math.cos(Math.PI / T)) / 2);
    }
    return groups.map((g) => (1 + Math.cos(Math.PI * e / T)) / (1 + Math.cos(Math.PI * (e - 1) / T)) * (g.lr - etaMin) + etaMin);
  }
  protected override closedFormLr(): number[] {
    return this.baseLrs.map((b) => this.etaMin + (b - this.etaMin) * (1 + Math.cos(Math.PI * this.lastEpoch / this.tMax)) / 2);
  }
}

/**
 * Scales each group's rate by a factor that moves linearly from `startFactor` to `endFactor`
 * over `totalIters` epochs (a warmup with the defaults), then holds it.
 */
export class LinearLR extends LRScheduler {
  startFactor: number;
  endFactor: number;
  totalIters: number;
  protected readonly stateKeys: [string, string][] = [['start_factor', 'startFactor'], ['end_factor', 'endFactor'], ['total_iters', 'totalIters']];
  constructor(optimizer: Optimizer, opts: { startFactor?: number; endFactor?: number; totalIters?: number } = {}) {
    super(optimizer, 'LinearLR');
    const o = checkOptions('LinearLR', opts, ['startFactor', 'endFactor', 'totalIters']);
    // PyTorch 1.13 allows startFactor 0, then divides by zero on the first step
    this.startFactor = checkNum('LinearLR', 'startFactor', o.startFactor ?? 1 / 3, 0, 1, { loOpen: true });
    this.endFactor = checkNum('LinearLR', 'endFactor', o.endFactor ?? 1, 0, 1);
    this.totalIters = checkInt('LinearLR', 'totalIters', o.totalIters ?? 5, 1);
    this.start();
  }
  protected computeLr(): number[] {
    const { lastEpoch: e, startFactor: s, endFactor: f, totalIters: n } = this;
    const lrs = this.optimizer.paramGroups.map((g) => g.lr);
    if (e === 0) return lrs.map((lr) => lr * s);
    if (e > n) return lrs;
    return lrs.map((lr) => lr * (1 + (f - s) / (n * s + (e - 1) * (f - s))));
  }
  protected override closedFormLr(): number[] {
    const { startFactor: s, endFactor: f, totalIters: n } = this;
    return this.baseLrs.map((b) => b * (s + (f - s) * Math.min(n, this.lastEpoch) / n));
  }
}

interface Phase { end_step: number; start_lr: string; end_lr: string; start_momentum: string; end_momentum: string }
// PyTorch's parameter-group keys in _schedule_phases, and Kiln's names for them
const GROUP_KEY: Record<string, string> = {
  initial_lr: 'initialLr', max_lr: 'maxLr', min_lr: 'minLr', max_momentum: 'maxMomentum', base_momentum: 'baseMomentum',
};

export interface OneCycleLROptions {
  /** the number of steps in the cycle; else epochs * stepsPerEpoch */
  totalSteps?: number; epochs?: number; stepsPerEpoch?: number;
  /** the fraction of the cycle spent raising the rate (default 0.3) */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** cycle SGD's momentum or Adam's beta1 inversely to the rate (default true, as PyTorch) */
  cycleMomentum?: boolean;
  baseMomentum?: number | number[]; maxMomentum?: number | number[];
  /** initial rate = maxLr / divFactor (default 25) */
  divFactor?: number;
  /** final rate = initial rate / finalDivFactor (default 1e4) */
  finalDivFactor?: number;
  threePhase?: boolean;
}

/**
 * The 1cycle policy: the rate rises from maxLr / divFactor to maxLr over pctStart of the
 * cycle, then falls to maxLr / divFactor / finalDivFactor; step() once per batch. Stepping
 * more than totalSteps times throws, as PyTorch does.
 *
 * With cycleMomentum (the default, as in PyTorch) it also cycles SGD's `momentum` or Adam's
 * `betas[0]` between maxMomentum and baseMomentum, writing the group's host value. Kiln's
 * optimizers read momentum and betas when a step is recorded, so an eager loop follows the
 * cycle exactly; but kn.compile bakes them into the traced step (only the rate is a GPU
 * scalar), so a compiled step keeps the momentum it was traced with (maxMomentum, set by this
 * constructor) and does not follow the cycle. With a compiled step, pass
 * `cycleMomentum: false` for a run that is the same eagerly and compiled.
 */
export class OneCycleLR extends LRScheduler {
  totalSteps: number;
  schedulePhases: Phase[];
  annealStrategy: 'cos' | 'linear';
  cycleMomentum: boolean;
  useBeta1 = false;
  protected readonly stateKeys: [string, string][];
  constructor(optimizer: Optimizer, maxLr: number | number[], opts: OneCycleLROptions = {}) {
    const who = 'OneCycleLR';
    super(optimizer, who);
    const o = checkOptions(who, opts, ['totalSteps', 'epochs', 'stepsPerEpoch', 'pctStart', 'annealStrategy', 'cycleMomentum', 'baseMomentum', 'maxMomentum', 'divFactor', 'finalDivFactor', 'threePhase']);
    if (o.totalSteps !== undefined) this.totalSteps = checkInt(who, 'totalSteps', o.totalSteps, 1);
    else if (o.epochs !== undefined || o.stepsPerEpoch !== undefined) {
      this.totalSteps = checkInt(who, 'epochs', o.epochs, 1) * checkInt(who, 'stepsPerEpoch', o.stepsPerEpoch, 1);
    } else fail(who, 'give either totalSteps or both epochs and stepsPerEpoch');
    const pct = checkNum(who, 'pctStart', o.pctStart ?? 0.3, 0, 1);
    const T = this.totalSteps;
    this.schedulePhases = checkBool(who, 'threePhase', o.threePhase ?? false)
      ? [
        { end_step: pct * T - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
        { end_step: 2 * pct * T - 2, start_lr: 'max_lr', end_lr: 'initial_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
        { end_step: T - 1, start_lr: 'initial_lr', end_lr: 'min_lr', start_momentum: 'max_momentum', end_momentum: 'max_momentum' },
      ]
      : [
        { end_step: pct * T - 1, start_lr: 'initial_lr', end_lr: 'max_lr', start_momentum: 'max_momentum', end_momentum: 'base_momentum' },
        { end_step: T - 1, start_lr: 'max_lr', end_lr: 'min_lr', start_momentum: 'base_momentum', end_momentum: 'max_momentum' },
      ];
    this.annealStrategy = checkChoice(who, 'annealStrategy', o.annealStrategy ?? 'cos', ['cos', 'linear'] as const);
    const divFactor = checkNum(who, 'divFactor', o.divFactor ?? 25, 0, Infinity, { loOpen: true });
    const finalDivFactor = checkNum(who, 'finalDivFactor', o.finalDivFactor ?? 1e4, 0, Infinity, { loOpen: true });
    const groups = optimizer.paramGroups;
    const maxLrs = perGroup(who, 'maxLr', maxLr, groups.length, (x, n) => checkNum(who, n, x, 0, Infinity, { loOpen: true }));
    this.cycleMomentum = checkBool(who, 'cycleMomentum', o.cycleMomentum ?? true);
    let maxMom: number[] = [], baseMom: number[] = [];
    if (this.cycleMomentum) {
      const g0 = groups[0];
      if (!('momentum' in g0) && !('betas' in g0)) fail(who, `cycleMomentum needs an optimizer with momentum (SGD) or betas (Adam, AdamW); pass cycleMomentum: false`);
      this.useBeta1 = 'betas' in g0;
      const mom = (x: unknown, n: string) => checkNum(who, n, x, 0, 1, { hiOpen: true });
      maxMom = perGroup(who, 'maxMomentum', o.maxMomentum ?? 0.95, groups.length, mom);
      baseMom = perGroup(who, 'baseMomentum', o.baseMomentum ?? 0.85, groups.length, mom);
    } else {
      for (const k of ['maxMomentum', 'baseMomentum']) if (k in o) fail(who, `${k} is used only with cycleMomentum: true`);
    }
    // validated; now write to the optimizer's groups, as PyTorch does
    groups.forEach((g, i) => {
      g.initialLr = maxLrs[i] / divFactor;
      g.maxLr = maxLrs[i];
      g.minLr = g.initialLr / finalDivFactor;
      if (this.cycleMomentum) {
        this.setMomentum(g, maxMom[i]);
        g.maxMomentum = maxMom[i];
        g.baseMomentum = baseMom[i];
      }
    });
    this.stateKeys = [['total_steps', 'totalSteps'], ['_schedule_phases', 'schedulePhases'], ['_anneal_func_type', 'annealStrategy'], ['cycle_momentum', 'cycleMomentum']];
    if (this.cycleMomentum) this.stateKeys.push(['use_beta1', 'useBeta1']);
    this.start();
  }

  private setMomentum(g: ParamGroup, m: number): void {
    if (this.useBeta1) g.betas = [m, ...(g.betas as number[]).slice(1)];
    else g.momentum = m;
  }

  private anneal(start: number, end: number, pct: number): number {
    if (this.annealStrategy === 'cos') return end + (start - end) / 2.0 * (Math.cos(Math.PI * pct) + 1);
    return (end - start) * pct + start;
  }

  protected computeLr(): number[] {
    const step = this.lastEpoch;
    if (step > this.totalSteps) fail(this.who, `tried to step ${step + 1} times; the cycle has totalSteps = ${this.totalSteps} (step() may be called totalSteps times after construction)`);
    return this.optimizer.paramGroups.map((g) => {
      const { lr, momentum } = this.at(g, step);
      if (this.cycleMomentum) this.setMomentum(g, momentum);
      return lr;
    });
  }

  /** The rate and momentum of a group at a step (PyTorch's get_lr for one group). */
  private at(g: ParamGroup, step: number): { lr: number; momentum: number } {
    const phases = this.schedulePhases;
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i];
      if (step <= p.end_step || i === phases.length - 1) {
        const pct = (step - start) / (p.end_step - start);
        return {
          lr: this.anneal(g[GROUP_KEY[p.start_lr]], g[GROUP_KEY[p.end_lr]], pct),
          momentum: this.cycleMomentum ? this.anneal(g[GROUP_KEY[p.start_momentum]], g[GROUP_KEY[p.end_momentum]], pct) : NaN,
        };
      }
      start = p.end_step;
    }
    throw new Error('OneCycleLR: no phase');
  }

  /** Also puts back the momentum (or beta1) of the restored step, which Kiln's optimizers do not save. */
  override loadStateDict(sd: SchedulerState): void {
    super.loadStateDict(sd);
    if (this.cycleMomentum && this.lastEpoch >= 0 && this.lastEpoch <= this.totalSteps) {
      for (const g of this.optimizer.paramGroups) this.setMomentum(g, this.at(g, this.lastEpoch).momentum);
    }
  }

  protected override loadValue(key: string, v: unknown): unknown {
    if (key === '_anneal_func_type') return checkChoice(this.who, 'loadStateDict: _anneal_func_type', v, ['cos', 'linear'] as const);
    if (key === 'cycle_momentum' && v !== this.cycleMomentum) fail(this.who, `loadStateDict: the state has cycle_momentum ${String(v)}, this scheduler ${this.cycleMomentum}; construct it with the same cycleMomentum`);
    return v;
  }
}

/**
 * Runs `schedulers` one after another on the same optimizer: schedulers[i + 1] takes over at
 * epoch milestones[i], restarting from its own epoch 0 (PyTorch's SequentialLR).
 */
export class SequentialLR extends LRScheduler {
  readonly schedulers: LRScheduler[];
  milestones: number[];
  protected readonly stateKeys: [string, string][] = [];
  constructor(optimizer: Optimizer, schedulers: LRScheduler[], milestones: number[]) {
    const who = 'SequentialLR';
    super(optimizer, who);
    if (!Array.isArray(schedulers) || schedulers.length === 0) fail(who, 'schedulers must be a non-empty array of schedulers');
    schedulers.forEach((s, i) => {
      if (s instanceof SequentialLR) fail(who, `schedulers[${i}] is a SequentialLR; nesting is not supported`);
      if (!(s instanceof LRScheduler)) fail(who, `schedulers[${i}] must be a scheduler (StepLR, LinearLR, ...; not ReduceLROnPlateau), got ${(s as any)?.constructor?.name ?? typeof s}`);
      if (s.optimizer !== optimizer) fail(who, `schedulers[${i}] belongs to another optimizer; every scheduler must wrap the optimizer passed to SequentialLR`);
    });
    if (!Array.isArray(milestones) || milestones.length !== schedulers.length - 1) {
      fail(who, `expected ${schedulers.length - 1} milestones (one fewer than the ${schedulers.length} schedulers), got ${JSON.stringify(milestones)}`);
    }
    milestones.forEach((m, i) => {
      checkInt(who, `milestones[${i}]`, m, 1);
      if (i > 0 && m <= milestones[i - 1]) fail(who, `milestones must be increasing, got [${milestones.join(', ')}]`);
    });
    this.schedulers = [...schedulers];
    this.milestones = [...milestones];
    this.lastEpoch = 0;
    // back to the initial rates, undo the step each scheduler's constructor took, start the first
    for (const g of optimizer.paramGroups) g.lr = g.initialLr;
    for (const s of this.schedulers) s.lastEpoch -= 1;
    this.schedulers[0].initialStep();
    this.lastLr = this.schedulers[0].getLastLr();
  }
  protected computeLr(): number[] { throw new Error('SequentialLR: computeLr is not used'); }
  override step(): void {
    this.lastEpoch += 1;
    const idx = bisectRight(this.milestones, this.lastEpoch);
    const s = this.schedulers[idx];
    if (idx > 0 && this.milestones[idx - 1] === this.lastEpoch) s.stepTo(0);
    else s.step();
    this.lastLr = s.getLastLr();
  }
  override stepTo(_epoch: number): void { fail(this.who, 'stepTo(epoch) is not supported (PyTorch\'s SequentialLR.step takes no epoch)'); }
  override stateDict(): SchedulerState {
    return { _milestones: [...this.milestones], last_epoch: this.lastEpoch, _last_lr: [...this.lastLr], _schedulers: this.schedulers.map((s) => s.stateDict()) };
  }
  override loadStateDict(sd: SchedulerState): void {
    const known = ['_milestones', 'last_epoch', '_last_lr', '_schedulers'];
    if (sd === null || typeof sd !== 'object') fail(this.who, `loadStateDict: expected a state object, got ${String(sd)}`);
    for (const k of Object.keys(sd)) if (!known.includes(k)) fail(this.who, `loadStateDict: unknown key '${k}'; expected ${known.join(', ')}`);
    if ('_schedulers' in sd && (!Array.isArray(sd._schedulers) || sd._schedulers.length !== this.schedulers.length)) {
      fail(this.who, `loadStateDict: _schedulers must hold ${this.schedulers.length} states, got ${JSON.stringify(sd._schedulers)?.slice(0, 80)}`);
    }
    if ('last_epoch' in sd) this.lastEpoch = checkInt(this.who, 'loadStateDict: last_epoch', sd.last_epoch, 0);
    if ('_milestones' in sd) this.milestones = copy(sd._milestones);
    if ('_last_lr' in sd) this.lastLr = copy(sd._last_lr);
    if ('_schedulers' in sd) sd._schedulers.forEach((s: SchedulerState, i: number) => this.schedulers[i].loadStateDict(s));
    if ('_last_lr' in sd) restoreLrs(this.optimizer, this.lastLr);
  }
}

export interface ReduceLROnPlateauOptions {
  mode?: 'min' | 'max';
  /** new rate = rate * factor (default 0.1) */
  factor?: number;
  /** epochs without improvement tolerated before reducing (default 10) */
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
  /** epochs to wait after a reduction before counting bad epochs again (default 0) */
  cooldown?: number;
  /** a lower bound on the rate, for all groups or per group */
  minLr?: number | number[];
  /** reductions smaller than eps are skipped (default 1e-8) */
  eps?: number;
}

/**
 * Reduces every group's rate by `factor` when a metric has not improved for `patience`
 * epochs: call `step(metric)` once per epoch with a number (`await loss.item()`).
 */
export class ReduceLROnPlateau {
  readonly optimizer: Optimizer;
  factor: number;
  minLrs: number[];
  patience: number;
  cooldown: number;
  cooldownCounter = 0;
  mode: 'min' | 'max';
  threshold: number;
  thresholdMode: 'rel' | 'abs';
  best: number;
  numBadEpochs = 0;
  modeWorse: number;
  eps: number;
  lastEpoch = 0;
  private lastLr: number[];
  private static readonly KEYS: [string, string][] = [
    ['factor', 'factor'], ['min_lrs', 'minLrs'], ['patience', 'patience'], ['verbose', ''], ['cooldown', 'cooldown'],
    ['cooldown_counter', 'cooldownCounter'], ['mode', 'mode'], ['threshold', 'threshold'], ['threshold_mode', 'thresholdMode'],
    ['best', 'best'], ['num_bad_epochs', 'numBadEpochs'], ['mode_worse', 'modeWorse'], ['eps', 'eps'], ['last_epoch', 'lastEpoch'], ['_last_lr', 'lastLr'],
  ];

  constructor(optimizer: Optimizer, opts: ReduceLROnPlateauOptions = {}) {
    const who = 'ReduceLROnPlateau';
    this.optimizer = checkOptimizer(who, optimizer);
    const o = checkOptions(who, opts, ['mode', 'factor', 'patience', 'threshold', 'thresholdMode', 'cooldown', 'minLr', 'eps']);
    this.factor = checkNum(who, 'factor', o.factor ?? 0.1, 0, 1, { hiOpen: true });
    const n = optimizer.paramGroups.length;
    this.minLrs = perGroup(who, 'minLr', o.minLr ?? 0, n, (x, name) => checkNum(who, name, x, 0, Infinity));
    this.patience = checkInt(who, 'patience', o.patience ?? 10, 0);
    this.cooldown = checkInt(who, 'cooldown', o.cooldown ?? 0, 0);
    this.mode = checkChoice(who, 'mode', o.mode ?? 'min', ['min', 'max'] as const);
    this.threshold = checkNum(who, 'threshold', o.threshold ?? 1e-4, 0, Infinity);
    this.thresholdMode = checkChoice(who, 'thresholdMode', o.thresholdMode ?? 'rel', ['rel', 'abs'] as const);
    this.eps = checkNum(who, 'eps', o.eps ?? 1e-8, 0, Infinity);
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
    this.best = this.modeWorse;
    this.lastLr = optimizer.paramGroups.map((g) => g.lr);
  }

  get inCooldown(): boolean { return this.cooldownCounter > 0; }

  isBetter(a: number, best: number): boolean {
    if (this.mode === 'min') return this.thresholdMode === 'rel' ? a < best * (1 - this.threshold) : a < best - this.threshold;
    return this.thresholdMode === 'rel' ? a > best * (this.threshold + 1) : a > best + this.threshold;
  }

  /** One epoch's metric (a number; NaN counts as no improvement, as in PyTorch). */
  step(metric: number): void {
    if (typeof metric !== 'number') {
      fail('ReduceLROnPlateau', `step(metric) takes a number, got ${metric === undefined ? 'nothing' : (metric as any)?.constructor?.name ?? typeof metric}${metric && typeof metric === 'object' ? ' (read a tensor first: await loss.item())' : ''}`);
    }
    this.lastEpoch += 1;
    if (this.isBetter(metric, this.best)) { this.best = metric; this.numBadEpochs = 0; }
    else this.numBadEpochs += 1;
    if (this.inCooldown) { this.cooldownCounter -= 1; this.numBadEpochs = 0; }
    if (this.numBadEpochs > this.patience) {
      this.optimizer.paramGroups.forEach((g, i) => {
        const old = g.lr;
        const lr = Math.max(old * this.factor, this.minLrs[i]);
        if (old - lr > this.eps) g.lr = lr;
      });
      this.cooldownCounter = this.cooldown;
      this.numBadEpochs = 0;
    }
    this.lastLr = this.optimizer.paramGroups.map((g) => g.lr);
  }

  getLastLr(): number[] { return [...this.lastLr]; }

  /**
   * PyTorch's keys. `best` and `mode_worse` start at +-Infinity, which JSON.stringify writes
   * as null; loadStateDict reads null back as the mode's worst value.
   */
  stateDict(): SchedulerState {
    return Object.fromEntries(ReduceLROnPlateau.KEYS.map(([k, p]) => [k, p ? copyNum((this as any)[p]) : false]));
  }

  loadStateDict(sd: SchedulerState): void {
    const who = 'ReduceLROnPlateau';
    if (sd === null || typeof sd !== 'object') fail(who, `loadStateDict: expected a state object, got ${String(sd)}`);
    const props = new Map(ReduceLROnPlateau.KEYS);
    for (const k of Object.keys(sd)) if (!props.has(k)) fail(who, `loadStateDict: unknown key '${k}'; expected ${[...props.keys()].join(', ')}`);
    const n = this.optimizer.paramGroups.length;
    for (const k of ['min_lrs', '_last_lr']) {
      if (k in sd && (!Array.isArray(sd[k]) || sd[k].length !== n)) fail(who, `loadStateDict: ${k} must hold ${n} numbers (one per parameter group), got ${JSON.stringify(sd[k])}`);
    }
    if ('mode' in sd) checkChoice(who, 'loadStateDict: mode', sd.mode, ['min', 'max'] as const);
    if ('threshold_mode' in sd) checkChoice(who, 'loadStateDict: threshold_mode', sd.threshold_mode, ['rel', 'abs'] as const);
    for (const [k, p] of props) if (p && k in sd && k !== 'best' && k !== 'mode_worse') (this as any)[p] = copy(sd[k]);
    // as PyTorch's _init_is_better: mode_worse follows mode
    this.modeWorse = this.mode === 'min' ? Infinity : -Infinity;
    if ('best' in sd) this.best = sd.best === null ? this.modeWorse : checkNumOrInf(who, sd.best);
    if ('_last_lr' in sd) restoreLrs(this.optimizer, this.lastLr);
  }
}

function copyNum(v: unknown): unknown { return typeof v === 'number' ? v : copy(v); }
function checkNumOrInf(who: string, v: unknown): number {
  if (typeof v !== 'number' || Number.isNaN(v)) fail(who, `loadStateDict: best must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/** What kn.optim.lrScheduler exposes. */
export const lrScheduler = { LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR, ReduceLROnPlateau };
