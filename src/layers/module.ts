// nn.Module: parameters, buffers and children found by walking the module's own fields, in
// the order they were assigned (as PyTorch registers them); state-dict keys are PyTorch's
// (field names in snake_case). A tensor field is a buffer only when registered.
import { Tensor, tensor } from '../graph/tensor.js';
import { withScope, guard } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { options, describe } from '../graph/args.js';
import { writeInto } from '../graph/arena.js';

/** A tensor that a Module owns and an optimizer updates. */
export class Parameter extends Tensor {
  constructor(t: Tensor, requiresGrad = true) {
    if (!(t instanceof Tensor)) throw new Error(`Parameter: expected a Tensor, got ${t === null ? 'null' : typeof t}`);
    super(t.node);
    if (requiresGrad) this.requiresGrad_(true);
  }
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const isPlainObject = (v: unknown): v is object => {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};
const holdsState = (vs: Iterable<unknown>) => [...vs].some((x) => x instanceof Module || x instanceof Parameter);

/** One direct member of a module: a parameter, a buffer or a child module. */
export type Member = [name: string, value: Parameter | Tensor | AnyModule, persistent: boolean];

/** Any module, whatever its forward returns (traversal, containers, checkpoints). */
export type AnyModule = Module<unknown>;

/**
 * A layer or model. `Out` is what forward returns: a Tensor unless the module says otherwise
 * (an LSTM is a Module<[Tensor, [Tensor, Tensor]]>).
 */
export abstract class Module<Out = Tensor> {
  /** a plain field, not #private: deepCopy (transformer.ts) copies modules field by field */
  protected trainingMode = true;
  /** train or eval mode; a compiled function that reads it retraces when it changes */
  get training(): boolean {
    guard(`${this.constructor.name}.training`, this.trainingMode, () => this.trainingMode);
    return this.trainingMode;
  }
  set training(mode: boolean) { this.trainingMode = mode; }
  /** registered buffers: field name -> persistent (in the state dict) */
  protected bufferNames = new Map<string, boolean>();

  abstract forward(...args: any[]): Out;

  /** Calls forward with the module's class name in error messages. */
  call(...args: Parameters<this['forward']>): ReturnType<this['forward']> {
    return withScope(this.constructor.name, () => this.forward(...args)) as ReturnType<this['forward']>;
  }

  /**
   * PyTorch's register_buffer: a non-trainable tensor the module owns (running statistics).
   * It becomes the field `name`; persistent buffers are in the state dict.
   */
  registerBuffer(name: string, t: Tensor | null, { persistent = true }: { persistent?: boolean } = {}): void {
    const fn = `${this.constructor.name}.registerBuffer`;
    if (typeof name !== 'string' || !/^[A-Za-z_$][\w$]*$/.test(name)) throw new Error(`${fn}: name must be an identifier (no dots), got ${JSON.stringify(name)}`);
    if (t !== null && !(t instanceof Tensor)) throw new Error(`${fn}: buffer '${name}' must be a Tensor or null, got ${typeof t}`);
    if (t instanceof Parameter) throw new Error(`${fn}: '${name}' is a Parameter; assign parameters to a field instead`);
    const old = (this as any)[name];
    if (old instanceof Module || old instanceof Parameter) throw new Error(`${fn}: '${name}' already holds a ${old instanceof Module ? 'module' : 'parameter'}`);
    if (typeof persistent !== 'boolean') throw new Error(`${fn}: persistent must be a boolean, got ${persistent}`);
    this.bufferNames.set(name, persistent);
    (this as any)[name] = t;
  }

  /**
   * The direct parameters, registered buffers and children, named as PyTorch would (arrays
   * of modules as `name.i`). Containers override it. Modules or parameters kept in a Map or
   * a plain object would be invisible to optimizers and checkpoints: that is an error.
   */
  protected *members(): Generator<Member> {
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Parameter || v instanceof Module) yield [snake(k), v, true];
      else if (v instanceof Tensor) { if (this.bufferNames.has(k)) yield [snake(k), v, this.bufferNames.get(k)!]; }
      else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) {
          if (v[i] instanceof Module) yield [`${snake(k)}.${i}`, v[i], true];
          else if (v[i] instanceof Parameter) throw this.hidden(k, 'an array', 'nn.ParameterList');
        }
      } else if ((v instanceof Map && holdsState(v.values())) || (isPlainObject(v) && holdsState(Object.values(v)))) {
        throw this.hidden(k, v instanceof Map ? 'a Map' : 'a plain object', 'nn.ModuleDict or nn.ModuleList (nn.ParameterList for parameters)');
      }
    }
  }
  private hidden(field: string, where: string, use: string): Error {
    return new Error(`${this.constructor.name}: field '${field}' keeps modules or parameters in ${where}, where parameters(), stateDict() and train() cannot see them; use ${use}`);
  }

  *namedChildren(): Generator<[string, AnyModule]> {
    for (const [k, v] of this.members()) if (v instanceof Module) yield [k, v];
  }
  children(): AnyModule[] { return [...this.namedChildren()].map(([, m]) => m); }
  /** This module and every descendant, each once, depth first; names dotted from `prefix`. */
  *namedModules(prefix = '', seen = new Set<AnyModule>()): Generator<[string, AnyModule]> {
    if (seen.has(this)) return;
    seen.add(this);
    yield [prefix, this];
    for (const [k, c] of this.namedChildren()) yield* c.namedModules(prefix ? `${prefix}.${k}` : k, seen);
  }
  modules(): AnyModule[] { return [...this.namedModules()].map(([, m]) => m); }

  /** [dotted name, tensor, persistent] for this module's tensors, then its children's. */
  private *walk(prefix: string, kind: 'parameter' | 'buffer' | 'state'): Generator<[string, Tensor, boolean]> {
    const own = [...this.members()];
    for (const [k, v, persistent] of own) if (v instanceof Parameter && kind !== 'buffer') yield [prefix + k, v, persistent];
    for (const [k, v, persistent] of own) if (v instanceof Tensor && !(v instanceof Parameter) && kind !== 'parameter') yield [prefix + k, v, persistent];
    for (const [k, v] of own) if (v instanceof Module) yield* v.walk(`${prefix}${k}.`, kind);
  }
  private *unique<T extends Tensor>(prefix: string, kind: 'parameter' | 'buffer'): Generator<[string, T]> {
    const seen = new Set<Tensor>();
    const p = prefix && !prefix.endsWith('.') ? `${prefix}.` : prefix;
    for (const [k, v] of this.walk(p, kind)) if (!seen.has(v)) { seen.add(v); yield [k, v as T]; }
  }
  *namedParameters(prefix = ''): Generator<[string, Parameter]> { yield* this.unique<Parameter>(prefix, 'parameter'); }
  parameters(): Parameter[] { return [...this.namedParameters()].map(([, p]) => p); }
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> { yield* this.unique<Tensor>(prefix, 'buffer'); }
  buffers(): Tensor[] { return [...this.namedBuffers()].map(([, b]) => b); }

  /** Calls fn on every child (recursively), then on this module, as PyTorch's apply. */
  apply(fn: (m: AnyModule) => void): this {
    if (typeof fn !== 'function') throw new Error(`${this.constructor.name}.apply: expected a function, got ${typeof fn}`);
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }
  /** Drops every parameter's gradient (PyTorch's default, set_to_none=True). */
  zeroGrad(): void { for (const p of this.parameters()) p.grad = null; }

  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new Error(`${this.constructor.name}.train: mode must be a boolean, got ${mode}`);
    this.training = mode;
    for (const c of this.children()) c.train(mode);
    return this;
  }
  eval(): this { return this.train(false); }
  /**
   * PyTorch's `requires_grad_`: sets requiresGrad on every parameter of this module and its
   * children (`model.features.requiresGrad_(false)` freezes a backbone). Buffers are untouched.
   */
  requiresGrad_(on = true): this {
    for (const p of this.parameters()) p.requiresGrad_(on);
    return this;
  }

  /** PyTorch's state_dict keys: parameters and persistent buffers, dotted by child name. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v, persistent] of this.walk('', 'state')) if (persistent) out[k] = v;
    return out;
  }

  /**
   * Copies values into the existing parameters and buffers, synchronously as PyTorch's: the
   * writes are recorded in graph order (a forward recorded before sees the old weights, one
   * recorded after the new), into the storage that optimizers and compiled steps hold. The
   * sources are read when the graph next runs.
   */
  loadStateDict(sd: Record<string, Tensor>, opts?: { strict?: boolean }): { missingKeys: string[]; unexpectedKeys: string[] } {
    const { strict = true } = options('loadStateDict', opts, ['strict']);
    if (sd === null || typeof sd !== 'object') throw new Error(`loadStateDict: expected an object of tensors keyed by name, got ${describe(sd)}`);
    for (const [k, v] of Object.entries(sd)) if (!(v instanceof Tensor)) throw new Error(`loadStateDict: entry '${k}' must be a tensor, got ${describe(v)}`);
    const own = this.stateDict();
    const missingKeys = Object.keys(own).filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !(k in own));
    if (strict && (missingKeys.length || unexpectedKeys.length)) {
      throw new Error(`loadStateDict: ${missingKeys.length ? `missing keys: ${missingKeys.join(', ')}` : ''}${missingKeys.length && unexpectedKeys.length ? '; ' : ''}${unexpectedKeys.length ? `unexpected keys: ${unexpectedKeys.join(', ')}` : ''}`);
    }
    // every shape is checked before anything is copied: a refused load changes nothing
    // (a size mismatch is an error even with strict = false, as in PyTorch)
    const mismatched = Object.entries(own).filter(([k, dst]) => sd[k] && sd[k].shape.join() !== dst.shape.join());
    if (mismatched.length) {
      throw new Error(`loadStateDict: ${mismatched.map(([k, dst]) => `size mismatch for ${k}: the checkpoint has shape ${shapeStr(sd[k].shape)}, the model expects ${shapeStr(dst.shape)}`).join('; ')}`);
    }
    writeInto(Object.entries(own).filter(([k]) => sd[k]).map(([k, dst]) => [dst, sd[k]]));
    return { missingKeys, unexpectedKeys };
  }

  /** The text inside this module's parentheses in the printout (PyTorch's extra_repr). */
  extraRepr(): string { return ''; }
  /** PyTorch's repr: the class name, extraRepr, then each child indented. */
  toString(): string {
    const extra = this.extraRepr() ? this.extraRepr().split('\n') : [];
    const kids = [...this.namedChildren()].map(([k, c]) => `(${k}): ${String(c).replace(/\n/g, '\n  ')}`);
    const lines = [...extra, ...kids];
    const body = extra.length === 1 && !kids.length ? extra[0] : lines.length ? `\n  ${lines.join('\n  ')}\n` : '';
    return `${this.constructor.name}(${body})`;
  }
  /** console.log(model) in Node prints the same. */
  [Symbol.for('nodejs.util.inspect.custom')](): string { return this.toString(); }
}

export { tensor };
