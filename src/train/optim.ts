// Optimizers. Each parameter group keeps its parameters, and the optimizer's state, in flat
// arenas, so one fused elementwise kernel updates every parameter of the group. The step
// count and the learning rate live on the GPU: a compiled step never bakes them in, and a
// schedule changing the learning rate does not retrace.
import { Tensor, constant, concat, tensor } from '../graph/tensor.js';
import { Node, shapeStr } from '../graph/ir.js';
import { state, noGrad } from '../graph/state.js';
import { gpu } from '../runtime/device.js';
import { newStorage } from '../runtime/buffers.js';

type Hyper = Record<string, any>;
export interface ParamGroup extends Hyper { params: Tensor[] }

function checkHyper(opt: string, name: string, v: unknown, { min = 0, max = Infinity, open = false } = {}): void {
  if (typeof v !== 'number' || Number.isNaN(v) || v < min || v > max || (open && v === min)) {
    const range = max === Infinity ? `${open ? '>' : '>='} ${min}` : `in [${min}, ${max}${max === 1 && name.startsWith('beta') ? ')' : ']'}`;
    throw new Error(`${opt}: invalid ${name} ${String(v)}: expected a number ${range}`);
  }
}

/**
 * A float32 GPU scalar that the host can change without retracing anything. A change is an
 * assign like any other: a step recorded before it still sees the old value.
 */
class DeviceScalar {
  readonly t: Tensor;
  private v: number;
  constructor(v: number) { this.v = v; this.t = tensor([v], []); }
  get value(): number { return this.v; }
  set value(v: number) {
    this.v = v;
    assign(this.t, constant(v, [], 'float32'));
  }
}

/** A realized zero-filled flat tensor used as optimizer state. */
function zerosArena(n: number): Tensor {
  const node = new Node('buffer', [], {}, [n], 'float32');
  const s = newStorage(Math.max(n, 1) * 4);
  const enc = gpu().createCommandEncoder();
  enc.clearBuffer(s.buf.buffer, 0, s.buf.bytes);
  gpu().queue.submit([enc.finish()]);
  node.setStorage(s);
  return new Tensor(node);
}

class GroupState {
  arena: Tensor;                     // all parameters, flattened end to end
  slots = new Map<string, Tensor>(); // optimizer state arenas (exp_avg, ...)
  step: DeviceScalar;
  lr: DeviceScalar;
  offsets: number[] = [];
  size = 0;
  constructor(readonly group: ParamGroup, readonly opt: string) {
    for (const p of group.params) { this.offsets.push(this.size); this.size += p.numel(); }
    // move parameters into one arena; each parameter becomes a view of it
    const node = new Node('buffer', [], {}, [this.size], 'float32');
    const s = newStorage(Math.max(this.size, 1) * 4);
    const enc = gpu().createCommandEncoder();
    group.params.forEach((p, i) => {
      const ps = p.node.storage;
      if (!ps) throw new Error(`${opt}: parameter ${i} (shape ${shapeStr(p.shape)}) has a pending computation; realize it (await p.data()) before creating the optimizer`);
      if (p.numel()) enc.copyBufferToBuffer(ps.buf.buffer, ps.offset * 4, s.buf.buffer, this.offsets[i] * 4, p.numel() * 4);
    });
    gpu().queue.submit([enc.finish()]);
    node.setStorage(s);
    this.arena = new Tensor(node);
    this.repoint();
    this.step = new DeviceScalar(0);
    this.lr = new DeviceScalar(group.lr);
  }
  slot(name: string): Tensor {
    let t = this.slots.get(name);
    if (!t) { t = zerosArena(this.size); this.slots.set(name, t); }
    return t;
  }
  /** parameters become views of the current arena version */
  repoint(): void {
    this.group.params.forEach((p, i) => {
      const old = p.node;
      const view = this.arena.slice([this.offsets[i]], [this.offsets[i] + p.numel()]).reshape(...old.shape);
      p.setNode(view.node);
      if (old.storage && old.op === 'buffer') old.releaseStorage();
    });
  }
}

export abstract class Optimizer {
  readonly paramGroups: ParamGroup[];
  protected groups: GroupState[];
  constructor(params: Tensor[] | ParamGroup[], defaults: Hyper, protected readonly name: string) {
    const known = new Set(Object.keys(defaults));
    const list = Array.isArray(params) ? params : [];
    if (!list.length) throw new Error(`${name}: got an empty parameter list`);
    const groups: ParamGroup[] = list[0] instanceof Tensor ? [{ params: list as Tensor[] }] : (list as ParamGroup[]).map((g) => ({ ...g }));
    const seen = new Set<Tensor>();
    for (const g of groups) {
      for (const k of Object.keys(g)) if (k !== 'params' && !known.has(k)) throw new Error(`${name}: unknown option '${k}'; expected one of ${[...known].join(', ')}`);
      for (const [k, v] of Object.entries(defaults)) if (g[k] === undefined) g[k] = v;
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

  /** Records the update of every parameter; it runs with the next read or compiled call. */
  step(): void {
    noGrad(() => {
      for (const gs of this.groups) {
        const ps = gs.group.params;
        if (!ps.some((p) => p.grad)) continue;
        const grads = ps.map((p) => (p.grad ? p.grad.reshape(-1) : constant(0, [p.numel()], 'float32')));
        const g = grads.length === 1 ? grads[0] : concat(grads, 0);
        const t = assign(gs.step.t, gs.step.t.add(1));
        const { param, slots } = this.update(gs, g, gs.arena, t, gs.lr.t);
        // parameters without a gradient keep their value and state, as in PyTorch
        const missing = ps.some((p) => !p.grad);
        const mask = missing ? concat(ps.map((p) => constant(p.grad ? 1 : 0, [p.numel()], 'bool')), 0) : null;
        for (const [k, v] of Object.entries(slots)) {
          const old = gs.slot(k);
          assign(old, mask ? mask.where(v, old) : v);
        }
        assign(gs.arena, mask ? mask.where(param, gs.arena) : param);
        gs.repoint();
      }
    });
  }

  zeroGrad(): void { for (const g of this.paramGroups) for (const p of g.params) p.grad = null; }

  /** The learning rate of each group. */
  getLr(): number[] { return this.paramGroups.map((g) => g.lr); }
}

/** Records `target <- value` in place; `target` then refers to the new version. */
export function assign(target: Tensor, value: Tensor): Tensor {
  const old = target.node;
  if (value.shape.join() !== old.shape.join()) throw new Error(`assign: value shape ${shapeStr(value.shape)} does not match ${shapeStr(old.shape)}`);
  const v = value.dtype === old.dtype ? value : value.cast(old.dtype);
  const n = new Node('assign', [old, v.node], {}, old.shape, old.dtype);
  state.pendingAssigns.push(n);
  target.setNode(n);
  return target;
}

export class SGD extends Optimizer {
  constructor(params: Tensor[] | ParamGroup[], opts: { lr?: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean; maximize?: boolean } = {}) {
    const defaults = { lr: 1e-3, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, maximize: false };
    super(params, { ...defaults, ...checkKeys('SGD', opts, defaults) }, 'SGD');
  }
  protected validate(g: ParamGroup): void {
    checkHyper('SGD', 'lr', g.lr); checkHyper('SGD', 'momentum', g.momentum); checkHyper('SGD', 'dampening', g.dampening); checkHyper('SGD', 'weightDecay', g.weightDecay);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0)) throw new Error('SGD: nesterov momentum requires momentum > 0 and dampening = 0');
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

function checkKeys(name: string, opts: Hyper, defaults: Hyper): Hyper {
  for (const k of Object.keys(opts)) if (!(k in defaults)) throw new Error(`${name}: unknown option '${k}'; expected one of ${Object.keys(defaults).join(', ')}`);
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined));
}
