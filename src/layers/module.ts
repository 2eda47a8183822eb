// nn.Module: parameters, buffers and children found by walking the module's own fields, in
// the order they were assigned (as PyTorch registers them); state-dict keys are PyTorch's.
import { Tensor, tensor } from '../graph/tensor.js';
import { withScope } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { options, describe } from '../graph/args.js';
import { writeInto } from '../graph/arena.js';

/** A tensor that a Module owns and an optimizer updates. */
export class Parameter extends Tensor {
  constructor(t: Tensor, requiresGrad = true) {
    super(t.node);
    if (requiresGrad) this.requiresGrad_(true);
  }
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export abstract class Module {
  training = true;
  /** names of fields holding non-trainable state (running statistics) */
  protected bufferNames = new Set<string>();

  abstract forward(...args: any[]): any;

  /** Calls forward with the module's class name in error messages. */
  call(...args: any[]): any { return withScope(this.constructor.name, () => this.forward(...args)); }

  protected registerBuffer(name: string, t: Tensor | null): void {
    this.bufferNames.add(name);
    (this as any)[name] = t;
  }

  *namedChildren(): Generator<[string, Module]> {
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) yield [k, v];
      else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) if (v[i] instanceof Module) yield [`${k}.${i}`, v[i]];
    }
  }
  *namedParameters(prefix = ''): Generator<[string, Parameter]> {
    const seen = new Set<Tensor>();
    for (const [k, v] of this.walk(prefix)) if (v instanceof Parameter && !seen.has(v)) { seen.add(v); yield [k, v]; }
  }
  parameters(): Parameter[] { return [...this.namedParameters()].map(([, p]) => p); }
  private *walk(prefix: string): Generator<[string, Tensor]> {
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Tensor) yield [prefix + snake(k), v];
    }
    for (const [name, child] of this.namedChildren()) yield* child.walk(`${prefix}${snake(name)}.`);
  }
  train(mode = true): this {
    this.training = mode;
    for (const [, c] of this.namedChildren()) c.train(mode);
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

  /** PyTorch's state_dict keys: parameters and buffers, dotted by child name. */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, v] of this.walk('')) out[k] = v;
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
}

export { tensor };
