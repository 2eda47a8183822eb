// Optimizers. Each parameter group keeps its parameters, and the optimizer's state, in flat
// arenas, so one fused elementwise kernel updates every parameter of the group. The step
// count and the learning rate live on the GPU: a compiled step never bakes them in, and a
// schedule changing the learning rate does not retrace.
import { Tensor, assign, constant, concat, tensor } from '../graph/tensor.js';
import { shapeStr } from '../graph/ir.js';
import { state, noGrad } from '../graph/state.js';
import { realize, startPending } from '../graph/realize.js';
import { FlatArena, filled, copyElements } from '../graph/arena.js';
import { DeviceScalar } from '../graph/scalar.js';

type Hyper = Record<string, any>;
export interface ParamGroup extends Hyper { params: Tensor[] }

function checkHyper(opt: string, name: string, v: unknown, { min = 0, max = Infinity, open = false } = {}): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max || (open && v === min)) {
    const range = max === Infinity ? `${open ? '>' : '>='} ${min}` : `in [${min}, ${max}${max === 1 && name.startsWith('beta') ? ')' : ']'}`;
    throw new Error(`${opt}: invalid ${name} ${String(v)}: expected a number ${range}`);
  }
}

function checkBool(opt: string, name: string, v: unknown): void {
  if (typeof v !== 'boolean') throw new Error(`${opt}: invalid ${name} ${JSON.stringify(v)}: expected true or false`);
}

/** camelCase option name -> PyTorch's snake_case (weightDecay -> weight_decay). */
const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
/** Keys PyTorch writes into param_groups that mean nothing to Kiln; loadStateDict ignores them. */
const TORCH_ONLY_KEYS = new Set(['foreach', 'capturable', 'differentiable', 'fused']);

class GroupState {
  /** all parameters, flattened end to end; each parameter is a view of it */
  readonly params: FlatArena;
  slots = new Map<string, Tensor>(); // optimizer state arenas (exp_avg, ...)
  step: DeviceScalar;
  lr: DeviceScalar;
  constructor(readonly group: ParamGroup, readonly opt: string) {
    this.params = new FlatArena(group.params, 'float32', opt);
    this.step = new DeviceScalar(0);
    this.lr = new DeviceScalar(group.lr);
  }
  get arena(): Tensor { return this.params.flat; }
  get offsets(): number[] { return this.params.offsets; }
  get size(): number { return this.params.size; }
  /** The state arena `name`, created filled with `init` on first use. */
  slot(name: string, init = 0): Tensor {
    let t = this.slots.get(name);
    if (!t) { t = filled(this.size, init, 'float32'); this.slots.set(name, t); }
    return t;
  }
  /** parameters become views of the current arena version */
  repoint(): void { this.params.repoint(); }
}

/** One entry of `stateDict().state`: PyTorch's per-parameter state. */
export type ParamState = Record<string, Tensor | number | null>;
/** One entry of `stateDict().param_groups`: options in PyTorch's snake_case, parameter ids. */
export type StateDictGroup = Record<string, unknown> & { params: number[] };
/**
 * PyTorch's `optimizer.state_dict()` layout. `state` is keyed by parameter id (numbered
 * across groups in order, as PyTorch); tensors are copies shaped like their parameter;
 * `step` is a plain number (PyTorch 1.13 stores a 0-d float tensor for Adam/AdamW/Adagrad,
 * an int for RMSprop; loadStateDict accepts a number or a 0-d tensor).
 */
export interface OptimizerStateDict { state: Record<number, ParamState>; param_groups: StateDictGroup[] }

/** What an optimizer keeps per parameter, given a group's options. */
interface StateLayout {
  /** PyTorch has a `step` entry per parameter */
  step: boolean;
  /** state tensors, in PyTorch's order */
  keys: string[];
  /** entries PyTorch writes as None (SGD without momentum: momentum_buffer) */
  nullKeys?: string[];
  /** state exists before the first step (Adagrad); else it appears with the first step */
  eager?: boolean;
}

export abstract class Optimizer {
  readonly paramGroups: ParamGroup[];
  protected groups: GroupState[];
  /** option names in the defaults' order (camelCase) */
  private readonly optionKeys: string[];
  constructor(params: Tensor[] | ParamGroup[], defaults: Hyper, protected readonly name: string) {
    const known = new Set(Object.keys(defaults));
    this.optionKeys = Object.keys(defaults);
    const list = Array.isArray(params) ? params : [];
    if (!list.length) throw new Error(`${name}: got an empty parameter list`);
    const groups: ParamGroup[] = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as ParamGroup[]).map((g, i) => {
      if (!g || typeof g !== 'object' || !Array.isArray(g.params)) throw new Error(`${name}: parameter group ${i} must be an object {params: Tensor[], ...options}`);
      return { ...g, params: [...g.params] };
    });
    const seen = new Set<Tensor>();
    for (const g of groups) {
      for (const k of Object.keys(g)) if (k !== 'params' && !known.has(k)) throw new Error(`${name}: unknown option '${k}'; expected one of ${[...known].join(', ')}`);
      for (const [k, v] of Object.entries(defaults)) if (g[k] === undefined) g[k] = v;
      if (!g.params.length) throw new Error(`${name}: a parameter group has an empty parameter list`);
      for (const p of g.params) {
        if (!(p instanceof Tensor)) throw new Error(`${name}: parameters must be tensors, got ${typeof p}`);
        if (seen.has(p)) throw new Error(`${name}: a parameter (shape ${shapeStr(p.shape)}) appears more than once; give each parameter once`);
        if (p.dtype !== 'float32') throw new Error(`${name}: parameters must be float32, got ${p.dtype}`);
        seen.add(p);
      }
      this.validate(g);
    }
    this.paramGroups = groups;
    this.groups = groups.map((g) => new GroupState(g, name));
    // the learning rate of a group is a device scalar: assigning it is cheap and safe
    this.groups.forEach((gs) => {
      Object.defineProperty(gs.group, 'lr', {
        get: () => gs.lr.value,
        set: (v: number) => { checkHyper(name, 'lr', v); gs.lr.value = v; },
        enumerable: true,
      });
    });
  }

  protected abstract validate(g: ParamGroup): void;
  /** The new values of the parameter arena and state slots, in ops. */
  protected abstract update(gs: GroupState, g: Tensor, p: Tensor, t: Tensor, lr: Tensor): { param: Tensor; slots: Record<string, Tensor> };
  /** The per-parameter state PyTorch keeps for a group with these options. */
  protected abstract stateLayout(g: Hyper): StateLayout;
  /** The value a state slot starts at (Adagrad's sum: initialAccumulatorValue). */
  protected slotInit(_g: Hyper, _slot: string): number { return 0; }

  /** set once a step was recorded inside kn.compile: options other than lr are baked in */
  private traced = false;

  /**
   * Records the update of every parameter. Eagerly it also starts computing the step (a step
   * ends here), so the graph pending at a read is one step long, however rarely it reads.
   */
  step(): void { this.recordStep(null); this.endStep(); }

  /**
   * step(), applied on the GPU only where `foundInf` (a one-element tensor; nonzero means an
   * inf or NaN was found in the gradients) is zero: otherwise parameters, state and the step
   * count keep their values. How GradScaler skips a step with no read-back (PyTorch's fused
   * optimizers take found_inf the same way).
   */
  stepUnlessFound(foundInf: Tensor): void {
    if (!(foundInf instanceof Tensor) || foundInf.numel() !== 1) throw new Error(`${this.name}.stepUnlessFound: foundInf must be a one-element tensor, got ${foundInf instanceof Tensor ? `shape ${shapeStr(foundInf.shape)}` : typeof foundInf}`);
    this.recordStep(foundInf);
    this.endStep();
  }

  /** No cut while kn.compile traces: the step is part of the traced program. */
  private endStep(): void { if (!state.tracing) startPending(); }

  private recordStep(foundInf: Tensor | null): void {
    if (state.tracing) this.traced = true;
    noGrad(() => {
      const skip = foundInf ? foundInf.reshape().ne(0) : null;
      for (const gs of this.groups) {
        const ps = gs.group.params;
        if (!ps.some((p) => p.grad)) continue;
        const grads = ps.map((p) => (p.grad ? p.grad.reshape(-1) : constant(0, [p.numel()], 'float32')));
        const g = grads.length === 1 ? grads[0] : concat(grads, 0);
        const next = gs.step.add(1);
        const t = assign(gs.step, skip ? skip.where(gs.step, next) : next);
        const { param, slots } = this.update(gs, g, gs.arena, t, gs.lr);
        // parameters without a gradient keep their value and state, as in PyTorch; so does
        // everything in a skipped step
        const missing = ps.some((p) => !p.grad);
        const mask = missing ? concat(ps.map((p) => constant(p.grad ? 1 : 0, [p.numel()], 'bool')), 0) : null;
        const keep = (v: Tensor, old: Tensor) => {
          const masked = mask ? mask.where(v, old) : v;
          return skip ? skip.where(old, masked) : masked;
        };
        for (const [k, v] of Object.entries(slots)) {
          const old = gs.slot(k, this.slotInit(gs.group, k));
          assign(old, keep(v, old));
        }
        assign(gs.arena, keep(param, gs.arena));
        gs.repoint();
      }
    });
  }

  zeroGrad(): void { for (const g of this.paramGroups) for (const p of g.params) p.grad = null; }

  /** The learning rate of each group. */
  getLr(): number[] { return this.paramGroups.map((g) => g.lr); }

  /**
   * PyTorch's `state_dict()`: `{state: {0: {step, exp_avg, ...}, ...}, param_groups: [{lr,
   * betas, ..., params: [0, 1]}]}`. Runs every recorded step first. State tensors are copies
   * (later steps do not change them); `step` is a number. Kiln counts steps per group, so
   * every parameter of a group reports the group's count, and a group that has not stepped
   * has no state entries (PyTorch creates state lazily too; Adagrad's exists from the start).
   */
  async stateDict(): Promise<OptimizerStateDict> {
    await realize([]);
    // copy everything in one go, with no await in between: a snapshot of one moment
    const stepCopies = this.groups.map((gs) => copyElements(gs.step, 0, 1, []));
    const state: Record<number, ParamState> = {};
    const param_groups: StateDictGroup[] = [];
    const pending: [ParamState, number][] = [];
    let id = 0;
    this.groups.forEach((gs, gi) => {
      const g = gs.group;
      const layout = this.stateLayout(g);
      const ids = g.params.map((_, j) => id + j);
      id += g.params.length;
      const pg: Record<string, unknown> = {};
      for (const k of this.optionKeys) pg[snake(k)] = Array.isArray(g[k]) ? [...g[k]] : g[k];
      param_groups.push({ ...pg, params: ids });
      g.params.forEach((p, j) => {
        const e: ParamState = {};
        if (layout.step) e.step = 0;
        for (const k of layout.keys) e[k] = copyElements(gs.slot(k, this.slotInit(g, k)), gs.offsets[j], p.numel(), p.shape);
        for (const k of layout.nullKeys ?? []) e[k] = null;
        state[ids[j]] = e;
        pending.push([e, gi]);
      });
    });
    const steps = await Promise.all(stepCopies.map(async (t) => (await t.data())[0]));
    for (const [e, gi] of pending) if ('step' in e) e.step = steps[gi];
    // no state before the first step, as PyTorch (except optimizers that create it eagerly)
    this.groups.forEach((gs, gi) => {
      if (steps[gi] > 0 || this.stateLayout(gs.group).eager) return;
      for (const pid of param_groups[gi].params) {
        for (const v of Object.values(state[pid])) if (v instanceof Tensor) v.dispose();
        delete state[pid];
      }
    });
    return { state, param_groups };
  }

  /**
   * PyTorch's `load_state_dict()`: restores the options of every group (lr included), the
   * step count and the state tensors, from a dict in `stateDict()`'s layout (a PyTorch
   * state_dict converted to tensors loads too: `step` may be a number or a 0-d tensor, and
   * PyTorch's `foreach`/`capturable`/`differentiable`/`fused` flags are ignored). Group and
   * parameter counts and state shapes must match; nothing changes when anything is wrong.
   * Options other than lr are baked into a compiled step when it is traced: load before the
   * first compiled call.
   */
  async loadStateDict(sd: OptimizerStateDict): Promise<void> {
    const n = `${this.name}.loadStateDict`;
    if (!sd || typeof sd !== 'object' || !Array.isArray(sd.param_groups) || !sd.state || typeof sd.state !== 'object') {
      throw new Error(`${n}: expected {state: {...}, param_groups: [...]} (the layout of stateDict()), got ${sd === null ? 'null' : typeof sd}`);
    }
    if (sd.param_groups.length !== this.groups.length) throw new Error(`${n}: the state dict has ${sd.param_groups.length} parameter group(s), this optimizer has ${this.groups.length}`);
    const camelOf = new Map(this.optionKeys.map((k) => [snake(k), k]));
    const plans: { gs: GroupState; opts: Hyper; step: number; values: Map<string, Tensor[] | null> }[] = [];
    for (const [gi, gs] of this.groups.entries()) {
      const saved = sd.param_groups[gi];
      const ps = gs.group.params;
      if (!saved || !Array.isArray(saved.params)) throw new Error(`${n}: param_groups[${gi}] has no params list`);
      if (saved.params.length !== ps.length) throw new Error(`${n}: param_groups[${gi}] has ${saved.params.length} parameter(s) in the state dict, this optimizer's group ${gi} has ${ps.length}`);
      const opts: Hyper = {};
      for (const k of this.optionKeys) opts[k] = Array.isArray(gs.group[k]) ? [...gs.group[k]] : gs.group[k];
      for (const [k, v] of Object.entries(saved)) {
        if (k === 'params' || TORCH_ONLY_KEYS.has(k)) continue;
        const ck = camelOf.get(k);
        if (!ck) throw new Error(`${n}: param_groups[${gi}] has an unknown option '${k}'; expected ${[...camelOf.keys()].join(', ')}`);
        opts[ck] = Array.isArray(v) ? [...v] : v;
      }
      this.validate(opts as ParamGroup);
      if (this.traced) {
        for (const k of this.optionKeys) {
          if (k === 'lr' || JSON.stringify(opts[k]) === JSON.stringify(gs.group[k])) continue;
          throw new Error(`${n}: param_groups[${gi}].${snake(k)} is ${JSON.stringify(opts[k])}, this optimizer has ${JSON.stringify(gs.group[k])}, and a compiled step has baked that in (only lr can change after tracing); load the state before the first compiled call, or create the optimizer with the saved options`);
        }
      }
      const layout = this.stateLayout(opts);
      const entries = saved.params.map((pid) => (sd.state as Record<string, ParamState | undefined>)[String(pid)]);
      const has = entries.map((e) => !!e && Object.keys(e).length > 0);
      if (has.some((h) => h) && !has.every((h) => h)) throw new Error(`${n}: param_groups[${gi}] has state for some parameters but not others (ids ${saved.params.filter((_, j) => !has[j]).join(', ')} have none); Kiln keeps one step count per group`);
      const values = new Map<string, Tensor[] | null>();
      let step = 0;
      if (has[0]) {
        const allowed = new Set([...(layout.step ? ['step'] : []), ...layout.keys, ...(layout.nullKeys ?? [])]);
        const steps: number[] = [];
        for (const [j, e] of entries.entries()) {
          const pid = saved.params[j];
          for (const k of Object.keys(e!)) if (!allowed.has(k)) throw new Error(`${n}: state ${pid} has an unknown entry '${k}'; ${this.name} with these options keeps ${[...allowed].join(', ') || 'nothing'}`);
          if (layout.step) {
            const s = e!.step;
            let v: number;
            if (typeof s === 'number') v = s;
            else if (s instanceof Tensor && s.numel() === 1) v = await s.item();
            else throw new Error(`${n}: state ${pid}.step must be a number or a one-element tensor, got ${s === undefined ? 'nothing' : s === null ? 'null' : s instanceof Tensor ? `shape ${shapeStr(s.shape)}` : typeof s}`);
            if (!Number.isInteger(v) || v < 0) throw new Error(`${n}: state ${pid}.step must be a non-negative integer, got ${v}`);
            steps.push(v);
          }
        }
        if (layout.step) {
          if (steps.some((s) => s !== steps[0])) throw new Error(`${n}: param_groups[${gi}] has different step counts (${steps.join(', ')}); Kiln keeps one step count per group`);
          step = steps[0];
        }
        for (const k of layout.keys) {
          const ts = entries.map((e, j) => {
            const t = e![k];
            const pid = saved.params[j];
            if (t === null || t === undefined) return null;
            if (!(t instanceof Tensor)) throw new Error(`${n}: state ${pid}.${k} must be a Tensor, got ${typeof t}`);
            if (t.shape.join() !== ps[j].shape.join()) throw new Error(`${n}: state ${pid}.${k} has shape ${shapeStr(t.shape)}, its parameter has shape ${shapeStr(ps[j].shape)}`);
            if (t.dtype !== 'float32' && t.dtype !== 'float16') throw new Error(`${n}: state ${pid}.${k} must be float32, got ${t.dtype}`);
            return t;
          });
          const nulls = ts.filter((t) => t === null).length;
          if (nulls && nulls !== ts.length) throw new Error(`${n}: param_groups[${gi}]: '${k}' is missing for some parameters but not others`);
          if (nulls && !layout.step) { values.set(k, null); continue; }
          if (nulls) throw new Error(`${n}: state ${saved.params[0]} has no '${k}'; ${this.name} with these options keeps ${layout.keys.join(', ')}`);
          values.set(k, ts as Tensor[]);
        }
        // SGD counts no steps: a momentum buffer means the first step is behind it
        if (!layout.step) step = [...values.values()].some((v) => v) ? 1 : 0;
      }
      plans.push({ gs, opts, step, values });
    }
    // everything checked: apply
    noGrad(() => {
      for (const { gs, opts, step, values } of plans) {
        const g = gs.group;
        for (const k of this.optionKeys) if (k !== 'lr') g[k] = opts[k];
        g.lr = opts.lr;
        gs.step.value = step;
        for (const k of this.stateLayout(g).keys) {
          const init = this.slotInit(g, k);
          const v = values.get(k);
          if (!gs.size) continue;
          if (v) {
            const flat = v.map((t) => (t.dtype === 'float32' ? t : t.cast('float32')).reshape(-1));
            assign(gs.slot(k, init), flat.length === 1 ? flat[0] : concat(flat, 0));
          } else if (gs.slots.has(k)) {
            assign(gs.slots.get(k)!, constant(init, [gs.size], 'float32'));
          }
        }
      }
    });
    await realize([]);
  }

  /**
   * The state tensors of stateDict() under flat keys: `state.<id>.<name>` (e.g.
   * `state.0.exp_avg`, shaped like parameter 0) and `state.<id>.step` as a 0-d float32
   * tensor, as PyTorch 1.13 stores it. SGD's null momentum buffers are left out. The options
   * are in `(await stateDict()).param_groups` (plain JSON).
   */
  async stateTensors(): Promise<Record<string, Tensor>> {
    const sd = await this.stateDict();
    const out: Record<string, Tensor> = {};
    for (const [pid, e] of Object.entries(sd.state)) {
      for (const [k, v] of Object.entries(e)) {
        if (v instanceof Tensor) out[`state.${pid}.${k}`] = v;
        else if (typeof v === 'number') out[`state.${pid}.${k}`] = tensor([v], []);
      }
    }
    return out;
  }

  /**
   * Loads what stateTensors() returned, with the options of `paramGroups` (stateDict()'s
   * param_groups) or, without it, the current options and parameter numbering.
   */
  async loadStateTensors(tensors: Record<string, Tensor>, paramGroups?: StateDictGroup[]): Promise<void> {
    const n = `${this.name}.loadStateTensors`;
    let id = 0;
    const groups = paramGroups ?? this.groups.map((gs) => {
      const params = gs.group.params.map(() => id++);
      return { params };
    });
    const state: Record<number, ParamState> = {};
    for (const [key, t] of Object.entries(tensors)) {
      const m = /^state\.(\d+)\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(key);
      if (!m) throw new Error(`${n}: unexpected key '${key}'; expected state.<id>.<name>`);
      if (!(t instanceof Tensor)) throw new Error(`${n}: '${key}' must be a Tensor`);
      (state[Number(m[1])] ??= {})[m[2]] = t;
    }
    const layouts = this.groups.map((gs) => this.stateLayout(gs.group));
    // SGD's None momentum buffers are not in the flat form
    groups.forEach((g, gi) => {
      for (const pid of g.params) if (state[pid]) for (const k of layouts[gi].nullKeys ?? []) state[pid][k] ??= null;
    });
    await this.loadStateDict({ state, param_groups: groups });
  }
}

export { assign };

export class SGD extends Optimizer {
  constructor(params: Tensor[] | ParamGroup[], opts: { lr?: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; maximize?: boolean } = {}) {
    const defaults = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
    super(params, { ...defaults, ...checkKeys('SGD', opts, defaults) }, 'SGD');
  }
  protected validate(g: ParamGroup): void {
    checkHyper('SGD', 'lr', g.lr); checkHyper('SGD', 'momentum', g.momentum); checkHyper('SGD', 'dampening', g.dampening); checkHyper('SGD', 'weightDecay', g.weightDecay);
    checkBool('SGD', 'nesterov', g.nesterov); checkBool('SGD', 'maximize', g.maximize);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error('SGD: nesterov momentum requires momentum > 0 and dampening = 0');
  }
  protected stateLayout(g: Hyper): StateLayout {
    return g.momentum ? { step: false, keys: ['momentum_buffer'] } : { step: false, keys: [], nullKeys: ['momentum_buffer'] };
  }
  protected update(gs: GroupState, grad: Tensor, p: Tensor, t: Tensor, lr: Tensor) {
    const h = gs.group;
    let g = h.maximize ? grad.neg() : grad;
    if (h.weightDecay) g = g.add(p.mul(h.weightDecay));
    const slots: Record<string, Tensor> = {};
    if (h.momentum) {
      const buf = gs.slot('momentum_buffer');
      // the first step starts the buffer at the gradient itself, as torch.optim.SGD
      const b1 = t.eq(1).where(g, buf.mul(h.momentum).add(g.mul(1 - h.dampening)));
      slots.momentum_buffer = b1;
      g = h.nesterov ? g.add(b1.mul(h.momentum)) : b1;
    }
    return { param: p.sub(g.mul(lr)), slots };
  }
}

class AdamBase extends Optimizer {
  constructor(params: Tensor[] | ParamGroup[], opts: Hyper, private decoupled: boolean, name: string) {
    const defaults = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: decoupled ? 1e-2 : 0, amsgrad: false, maximize: false };
    super(params, { ...defaults, ...checkKeys(name, opts, defaults) }, name);
  }
  protected validate(g: ParamGroup): void {
    const n = this.name;
    checkHyper(n, 'lr', g.lr); checkHyper(n, 'eps', g.eps); checkHyper(n, 'weightDecay', g.weightDecay);
    if (!Array.isArray(g.betas) || g.betas.length !== 2) throw new Error(`${n}: betas must be a pair [beta1, beta2], got ${JSON.stringify(g.betas)}`);
    checkHyper(n, 'beta1', g.betas[0], { max: 1 }); checkHyper(n, 'beta2', g.betas[1], { max: 1 });
    if (g.betas[0] >= 1 || g.betas[1] >= 1) throw new Error(`${n}: betas must be below 1, got [${g.betas}]`);
    checkBool(n, 'amsgrad', g.amsgrad); checkBool(n, 'maximize', g.maximize);
  }
  protected stateLayout(g: Hyper): StateLayout {
    return { step: true, keys: ['exp_avg', 'exp_avg_sq', ...(g.amsgrad ? ['max_exp_avg_sq'] : [])] };
  }
  protected update(gs: GroupState, grad: Tensor, p: Tensor, t: Tensor, lr: Tensor) {
    const h = gs.group;
    const [b1, b2] = h.betas as number[];
    let g = h.maximize ? grad.neg() : grad;
    let p0 = p;
    if (h.weightDecay) {
      if (this.decoupled) p0 = p.mul(lr.mul(-h.weightDecay).add(1));
      else g = g.add(p.mul(h.weightDecay));
    }
    const m = gs.slot('exp_avg').mul(b1).add(g.mul(1 - b1));
    const v = gs.slot('exp_avg_sq').mul(b2).add(g.mul(g).mul(1 - b2));
    const bc1 = constant(b1, [], 'float32').pow(t).neg().add(1);
    const bc2 = constant(b2, [], 'float32').pow(t).neg().add(1);
    const slots: Record<string, Tensor> = { exp_avg: m, exp_avg_sq: v };
    let vHat = v;
    if (h.amsgrad) { vHat = gs.slot('max_exp_avg_sq').maximum(v); slots.max_exp_avg_sq = vHat; }
    const denom = vHat.sqrt().div(bc2.sqrt()).add(h.eps);
    return { param: p0.sub(m.div(denom).mul(lr.div(bc1))), slots };
  }
}

export class Adam extends AdamBase {
  constructor(params: Tensor[] | ParamGroup[], opts: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean; maximize?: boolean } = {}) {
    super(params, opts, false, 'Adam');
  }
}
export class AdamW extends AdamBase {
  constructor(params: Tensor[] | ParamGroup[], opts: { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: boolean; maximize?: boolean } = {}) {
    super(params, opts, true, 'AdamW');
  }
}

/**
 * torch.optim.RMSprop: v = alpha v + (1 - alpha) g^2; centered subtracts the squared running
 * mean of g from v; the step is g / (sqrt(v) + eps), through a momentum buffer when momentum > 0.
 */
export class RMSprop extends Optimizer {
  constructor(params: Tensor[] | ParamGroup[], opts: { lr?: number; alpha?: number; eps?: number; weightDecay?: number; momentum?: number; centered?: boolean; maximize?: boolean } = {}) {
    const defaults = { lr: 1e-2, momentum: 0, alpha: 0.99, eps: 1e-8, centered: false, weightDecay: 0, maximize: false };
    super(params, { ...defaults, ...checkKeys('RMSprop', opts, defaults) }, 'RMSprop');
  }
  protected validate(g: ParamGroup): void {
    const n = 'RMSprop';
    checkHyper(n, 'lr', g.lr); checkHyper(n, 'alpha', g.alpha); checkHyper(n, 'eps', g.eps);
    checkHyper(n, 'momentum', g.momentum); checkHyper(n, 'weightDecay', g.weightDecay);
    checkBool(n, 'centered', g.centered); checkBool(n, 'maximize', g.maximize);
  }
  protected stateLayout(g: Hyper): StateLayout {
    return { step: true, keys: ['square_avg', ...(g.momentum > 0 ? ['momentum_buffer'] : []), ...(g.centered ? ['grad_avg'] : [])] };
  }
  protected update(gs: GroupState, grad: Tensor, p: Tensor, _t: Tensor, lr: Tensor) {
    const h = gs.group;
    const a = h.alpha as number;
    let g = h.maximize ? grad.neg() : grad;
    if (h.weightDecay) g = g.add(p.mul(h.weightDecay));
    // the operand order follows PyTorch's addcmul/addcdiv, for the same float32 roundings
    const sq = gs.slot('square_avg').mul(a).add(g.mul(1 - a).mul(g));
    const slots: Record<string, Tensor> = { square_avg: sq };
    let avg: Tensor;
    if (h.centered) {
      const ga = gs.slot('grad_avg').mul(a).add(g.mul(1 - a));
      slots.grad_avg = ga;
      avg = sq.sub(ga.mul(ga)).sqrt().add(h.eps);
    } else {
      avg = sq.sqrt().add(h.eps);
    }
    if (h.momentum > 0) {
      const buf = gs.slot('momentum_buffer').mul(h.momentum).add(g.div(avg));
      slots.momentum_buffer = buf;
      return { param: p.sub(buf.mul(lr)), slots };
    }
    return { param: p.add(g.mul(lr.neg()).div(avg)), slots };
  }
}

/**
 * torch.optim.Adagrad: sum += g^2 (sum starts at initialAccumulatorValue); the step is
 * clr g / (sqrt(sum) + eps) with clr = lr / (1 + (step - 1) lrDecay).
 */
export class Adagrad extends Optimizer {
  constructor(params: Tensor[] | ParamGroup[], opts: { lr?: number; lrDecay?: number; weightDecay?: number; initialAccumulatorValue?: number; eps?: number; maximize?: boolean } = {}) {
    const defaults = { lr: 1e-2, lrDecay: 0, eps: 1e-10, weightDecay: 0, initialAccumulatorValue: 0, maximize: false };
    super(params, { ...defaults, ...checkKeys('Adagrad', opts, defaults) }, 'Adagrad');
    // PyTorch creates the state with the optimizer
    for (const gs of this.groups) gs.slot('sum', gs.group.initialAccumulatorValue);
  }
  protected validate(g: ParamGroup): void {
    const n = 'Adagrad';
    checkHyper(n, 'lr', g.lr); checkHyper(n, 'lrDecay', g.lrDecay); checkHyper(n, 'eps', g.eps);
    checkHyper(n, 'weightDecay', g.weightDecay); checkHyper(n, 'initialAccumulatorValue', g.initialAccumulatorValue);
    checkBool(n, 'maximize', g.maximize);
  }
  protected stateLayout(): StateLayout { return { step: true, keys: ['sum'], eager: true }; }
  protected override slotInit(g: Hyper, slot: string): number { return slot === 'sum' ? g.initialAccumulatorValue : 0; }
  protected update(gs: GroupState, grad: Tensor, p: Tensor, t: Tensor, lr: Tensor) {
    const h = gs.group;
    let g = h.maximize ? grad.neg() : grad;
    if (h.weightDecay) g = g.add(p.mul(h.weightDecay));
    const clr = h.lrDecay ? lr.div(t.sub(1).mul(h.lrDecay).add(1)) : lr;
    const sum = gs.slot('sum', h.initialAccumulatorValue).add(g.mul(g));
    const std = sum.sqrt().add(h.eps);
    return { param: p.add(g.mul(clr.neg()).div(std)), slots: { sum } };
  }
}

function checkKeys(name: string, opts: Hyper, defaults: Hyper): Hyper {
  for (const k of Object.keys(opts)) if (!(k in defaults)) throw new Error(`${name}: unknown option '${k}'; expected one of ${Object.keys(defaults).join(', ')}`);
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}
