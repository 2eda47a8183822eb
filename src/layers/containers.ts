// PyTorch's containers: ModuleList, ModuleDict and ParameterList. Their members are named by
// position or key (`layers.0.weight`, `heads.cls.bias`), as PyTorch's state dicts are.
import { Tensor } from '../graph/tensor.js';
import { Module, Parameter, type Member, type AnyModule } from './module.js';

function checkModule(where: string, m: unknown): AnyModule {
  if (!(m instanceof Module)) throw new Error(`${where}: expected a Module, got ${m === null ? 'null' : typeof m === 'object' ? m.constructor.name : typeof m}`);
  return m;
}
/** i in -n..n-1 (n..n for an insert at the end), negative counting from the end. */
function checkIndex(where: string, i: number, n: number, insert = false): number {
  const max = insert ? n : n - 1;
  if (!Number.isInteger(i) || i < -n || i > max) {
    throw new Error(`${where}: index ${i} is out of range for ${n} entries (expected an integer in ${-n}..${max})`);
  }
  return i < 0 ? i + n : i;
}
const noForward = (name: string): never => { throw new Error(`${name}: a container has no forward(); call the modules it holds`); };

/** Modules in a list, registered as children `0`, `1`, ... (torch.nn.ModuleList). */
/** M: the kind of module it holds (any module by default; a typed list keeps forward's type). */
export class ModuleList<M extends AnyModule = AnyModule> extends Module implements Iterable<M> {
  protected readonly items: M[] = [];
  constructor(modules: Iterable<M> = []) {
    super();
    this.extend(modules);
  }
  protected override *members(): Generator<Member> { for (let i = 0; i < this.items.length; i++) yield [String(i), this.items[i], true]; }
  get length(): number { return this.items.length; }
  /** The module at i (negative counts from the end). */
  at(i: number): M { return this.items[checkIndex('ModuleList.at', i, this.items.length)]; }
  append(m: M): this { this.items.push(checkModule('ModuleList.append', m) as M); return this; }
  extend(ms: Iterable<M>): this {
    if (ms === null || typeof (ms as any)[Symbol.iterator] !== 'function') throw new Error(`ModuleList: expected an iterable of modules, got ${ms === null ? 'null' : typeof ms}`);
    for (const m of ms) this.append(m);
    return this;
  }
  insert(i: number, m: M): this { this.items.splice(checkIndex('ModuleList.insert', i, this.items.length, true), 0, checkModule('ModuleList.insert', m) as M); return this; }
  [Symbol.iterator](): Iterator<M> { return this.items[Symbol.iterator](); }
  forward(): never { return noForward('ModuleList'); }
}

/** Modules by name, in insertion order, registered under their keys (torch.nn.ModuleDict). */
export class ModuleDict extends Module implements Iterable<string> {
  protected readonly items: [string, AnyModule][] = [];
  constructor(modules: Record<string, AnyModule> | Iterable<[string, Module]> = {}) {
    super();
    if (modules === null || typeof modules !== 'object') throw new Error(`ModuleDict: expected an object or [key, module] pairs, got ${modules === null ? 'null' : typeof modules}`);
    const entries = Symbol.iterator in modules ? modules as Iterable<[string, Module]> : Object.entries(modules);
    for (const [k, m] of entries) this.set(k, m);
  }
  protected override *members(): Generator<Member> { for (const [k, m] of this.items) yield [k, m, true]; }
  get length(): number { return this.items.length; }
  get(key: string): AnyModule | undefined { return this.items.find(([k]) => k === key)?.[1]; }
  has(key: string): boolean { return this.items.some(([k]) => k === key); }
  /** Adds or replaces (in place, keeping the order) the module under key. */
  set(key: string, m: AnyModule): this {
    if (typeof key !== 'string' || !key || key.includes('.')) throw new Error(`ModuleDict: a key must be a non-empty string without dots, got ${JSON.stringify(key)}`);
    checkModule(`ModuleDict['${key}']`, m);
    const i = this.items.findIndex(([k]) => k === key);
    if (i >= 0) this.items[i] = [key, m]; else this.items.push([key, m]);
    return this;
  }
  /** Removes and returns the module under key (PyTorch's pop). */
  pop(key: string): AnyModule {
    const i = this.items.findIndex(([k]) => k === key);
    if (i < 0) throw new Error(`ModuleDict.pop: no key '${key}'; the keys are ${this.keys().join(', ') || '(none)'}`);
    return this.items.splice(i, 1)[0][1];
  }
  keys(): string[] { return this.items.map(([k]) => k); }
  values(): AnyModule[] { return this.items.map(([, m]) => m); }
  entries(): [string, AnyModule][] { return this.items.map(([k, m]) => [k, m]); }
  /** Iterates over the keys, as a Python dict does. */
  [Symbol.iterator](): Iterator<string> { return this.keys()[Symbol.iterator](); }
  forward(): never { return noForward('ModuleDict'); }
}

/** Parameters in a list, named `0`, `1`, ... (torch.nn.ParameterList); tensors are wrapped. */
export class ParameterList extends Module implements Iterable<Parameter> {
  protected readonly items: Parameter[] = [];
  constructor(params: Iterable<Tensor> = []) {
    super();
    if (params === null || typeof (params as any)[Symbol.iterator] !== 'function') throw new Error(`ParameterList: expected an iterable of tensors, got ${params === null ? 'null' : typeof params}`);
    for (const p of params) this.append(p);
  }
  protected override *members(): Generator<Member> { for (let i = 0; i < this.items.length; i++) yield [String(i), this.items[i], true]; }
  get length(): number { return this.items.length; }
  at(i: number): Parameter { return this.items[checkIndex('ParameterList.at', i, this.items.length)]; }
  append(p: Tensor): this {
    if (!(p instanceof Tensor)) throw new Error(`ParameterList.append: expected a Tensor, got ${p === null ? 'null' : typeof p}`);
    this.items.push(p instanceof Parameter ? p : new Parameter(p));
    return this;
  }
  [Symbol.iterator](): Iterator<Parameter> { return this.items[Symbol.iterator](); }
  override extraRepr(): string {
    return this.items.map((p, i) => `  (${i}): Parameter containing: [${p.dtype} of size ${p.shape.join('x')}]`).join('\n');
  }
  forward(): never { return noForward('ParameterList'); }
}
