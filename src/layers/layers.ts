// The basic layers, with PyTorch's names, options and default initialisations.
import { Tensor, tensor } from '../graph/tensor.js';
import { Module, Parameter, type Member, type AnyModule } from './module.js';
import * as F from './functional.js';
import { uniformArray } from './random.js';
import { pyBool, pyFloat } from './repr.js';
import { options } from '../graph/args.js';

function checkInt(name: string, v: number, what: string): void {
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name}: ${what} must be a positive integer, got ${v}`);
}

export class Linear extends Module {
  weight: Parameter;
  bias: Parameter | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, { bias = true }: { bias?: boolean } = {}) {
    super();
    checkInt('Linear', inFeatures, 'inFeatures'); checkInt('Linear', outFeatures, 'outFeatures');
    // kaiming_uniform_(a=sqrt(5)) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as PyTorch
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = new Parameter(tensor(uniformArray(outFeatures * inFeatures, -bound, bound), [outFeatures, inFeatures]));
    this.bias = bias ? new Parameter(tensor(uniformArray(outFeatures, -bound, bound), [outFeatures])) : null;
  }
  forward(x: Tensor): Tensor { return F.linear(x, this.weight, this.bias); }
  override extraRepr(): string { return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyBool(!!this.bias)}`; }
}

export class Sequential extends Module {
  readonly layers: AnyModule[];
  constructor(...layers: AnyModule[]) {
    super();
    this.layers = layers;
  }
  // children are named 0, 1, 2... as in torch.nn.Sequential
  protected override *members(): Generator<Member> { for (let i = 0; i < this.layers.length; i++) yield [String(i), this.layers[i], true]; }
  forward(x: Tensor): Tensor {
    let y: unknown = x;
    for (const [i, l] of this.layers.entries()) {
      if (!(y instanceof Tensor)) throw new Error(`Sequential: layer ${i - 1} (${this.layers[i - 1].constructor.name}) returned a ${typeof y}, not a Tensor to pass on`);
      y = l.call(y);
    }
    if (!(y instanceof Tensor)) throw new Error(`Sequential: the last layer (${this.layers[this.layers.length - 1].constructor.name}) returned a ${typeof y}, not a Tensor`);
    return y;
  }
  get length(): number { return this.layers.length; }
  at(i: number): AnyModule { return this.layers[i < 0 ? i + this.layers.length : i]; }
}

class Activation extends Module {
  constructor(private fn: (x: Tensor) => Tensor, private repr = '') { super(); }
  forward(x: Tensor): Tensor { return this.fn(x); }
  override extraRepr(): string { return this.repr; }
}
export class ReLU extends Activation { constructor() { super((x) => x.relu()); } }
export class Sigmoid extends Activation { constructor() { super((x) => x.sigmoid()); } }
export class Tanh extends Activation { constructor() { super((x) => x.tanh()); } }
export class SiLU extends Activation { constructor() { super((x) => x.silu()); } }
export class GELU extends Activation {
  constructor({ approximate = 'none' }: { approximate?: 'none' | 'tanh' } = {}) { super((x) => F.gelu(x, { approximate }), `approximate='${approximate}'`); }
}
export class LeakyReLU extends Activation {
  constructor(opts?: { negativeSlope?: number }) {
    const { negativeSlope = 0.01 } = options('LeakyReLU', opts, ['negativeSlope']);
    super((x) => x.leakyRelu({ negativeSlope }), `negative_slope=${pyFloat(negativeSlope)}`);
  }
}
export class ELU extends Activation {
  constructor(opts?: { alpha?: number }) {
    const { alpha = 1 } = options('ELU', opts, ['alpha']);
    super((x) => x.elu({ alpha }), `alpha=${pyFloat(alpha)}`);
  }
}
export class Hardtanh extends Activation {
  constructor(opts?: { minVal?: number; maxVal?: number }) {
    options('Hardtanh', opts, ['minVal', 'maxVal']);
    super((x) => x.hardtanh(opts), `min_val=${pyFloat(opts?.minVal ?? -1)}, max_val=${pyFloat(opts?.maxVal ?? 1)}`);
  }
}
export class ReLU6 extends Activation { constructor() { super((x) => x.relu6()); } }
export class Hardswish extends Activation { constructor() { super((x) => x.hardswish()); } }
export class LogSigmoid extends Activation { constructor() { super((x) => x.logSigmoid()); } }
export class Softplus extends Activation {
  constructor({ beta = 1, threshold = 20 }: { beta?: number; threshold?: number } = {}) { super((x) => x.softplus({ beta, threshold }), `beta=${pyFloat(beta)}, threshold=${pyFloat(threshold)}`); }
}
export class Softmax extends Module {
  constructor(private dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.softmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}
export class LogSoftmax extends Module {
  constructor(private dim: number) { super(); }
  forward(x: Tensor): Tensor { return x.logSoftmax(this.dim); }
  override extraRepr(): string { return `dim=${this.dim}`; }
}
export class Identity extends Module { forward(x: Tensor): Tensor { return x; } }

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: p must be in [0, 1], got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout(x, { p: this.p, training: this.training }); }
  override extraRepr(): string { return `p=${pyFloat(this.p)}, inplace=False`; }
}

export class Flatten extends Module {
  constructor(private startDim = 1, private endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
  override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}
