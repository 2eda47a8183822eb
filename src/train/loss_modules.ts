// The loss modules of torch.nn: each holds its options (PyTorch's names in camelCase; an
// unknown one is an error) and calls the functional form. Class weights and posWeight are
// buffers, as in PyTorch, so they follow the module into its state dict.
import { Tensor } from '../graph/tensor.js';
import { Module } from '../layers/module.js';
import * as L from './losses.js';

type Reduction = L.Reduction;

/** Options checked once, at construction, against the names PyTorch's module takes. */
abstract class Loss<O extends object> extends Module {
  readonly reduction: string;
  protected readonly opts: O;
  constructor(name: string, opts: O, allowed: string[]) {
    super();
    if (typeof opts !== 'object' || opts === null) throw new Error(`${name}: options must be an object, got ${opts === null ? 'null' : typeof opts}`);
    for (const k of Object.keys(opts)) if (!allowed.includes(k)) throw new Error(`${name}: unknown option '${k}'; expected one of ${allowed.join(', ')}`);
    this.opts = { ...opts };
    this.reduction = (opts as { reduction?: string }).reduction ?? 'mean';
  }
  /** The options with the buffers as they are now (they may have been reassigned). */
  protected withBuffers(): O {
    const o: any = { ...this.opts };
    for (const k of this.bufferNames.keys()) o[k] = (this as any)[k];
    return o;
  }
}

export class MSELoss extends Loss<{ reduction?: Reduction }> {
  constructor(opts: { reduction?: Reduction } = {}) { super('MSELoss', opts, ['reduction']); }
  forward(input: Tensor, target: Tensor): Tensor { return L.mseLoss(input, target, this.opts); }
}
export class L1Loss extends Loss<{ reduction?: Reduction }> {
  constructor(opts: { reduction?: Reduction } = {}) { super('L1Loss', opts, ['reduction']); }
  forward(input: Tensor, target: Tensor): Tensor { return L.l1Loss(input, target, this.opts); }
}
export class SmoothL1Loss extends Loss<{ reduction?: Reduction; beta?: number }> {
  constructor(opts: { reduction?: Reduction; beta?: number } = {}) { super('SmoothL1Loss', opts, ['reduction', 'beta']); }
  forward(input: Tensor, target: Tensor): Tensor { return L.smoothL1Loss(input, target, this.opts); }
}
export class HuberLoss extends Loss<{ reduction?: Reduction; delta?: number }> {
  constructor(opts: { reduction?: Reduction; delta?: number } = {}) { super('HuberLoss', opts, ['reduction', 'delta']); }
  forward(input: Tensor, target: Tensor): Tensor { return L.huberLoss(input, target, this.opts); }
}
export class KLDivLoss extends Loss<{ reduction?: Reduction | 'batchmean'; logTarget?: boolean }> {
  constructor(opts: { reduction?: Reduction | 'batchmean'; logTarget?: boolean } = {}) { super('KLDivLoss', opts, ['reduction', 'logTarget']); }
  forward(input: Tensor, target: Tensor): Tensor { return L.klDiv(input, target, this.opts); }
}
export class CosineEmbeddingLoss extends Loss<{ margin?: number; reduction?: Reduction }> {
  constructor(opts: { margin?: number; reduction?: Reduction } = {}) { super('CosineEmbeddingLoss', opts, ['margin', 'reduction']); }
  forward(input1: Tensor, input2: Tensor, target: Tensor): Tensor { return L.cosineEmbeddingLoss(input1, input2, target, this.opts); }
}

type CEOptions = L.CrossEntropyOptions;
export class CrossEntropyLoss extends Loss<CEOptions> {
  declare weight: Tensor | null;
  constructor(opts: CEOptions = {}) {
    super('CrossEntropyLoss', opts, ['weight', 'ignoreIndex', 'reduction', 'labelSmoothing']);
    this.registerBuffer('weight', opts.weight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor { return L.crossEntropy(input, target, this.withBuffers()); }
}
export class NLLLoss extends Loss<L.NllLossOptions> {
  declare weight: Tensor | null;
  constructor(opts: L.NllLossOptions = {}) {
    super('NLLLoss', opts, ['weight', 'ignoreIndex', 'reduction']);
    this.registerBuffer('weight', opts.weight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor { return L.nllLoss(input, target, this.withBuffers()); }
}
export class BCELoss extends Loss<{ weight?: Tensor | null; reduction?: Reduction }> {
  declare weight: Tensor | null;
  constructor(opts: { weight?: Tensor | null; reduction?: Reduction } = {}) {
    super('BCELoss', opts, ['weight', 'reduction']);
    this.registerBuffer('weight', opts.weight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor { return L.binaryCrossEntropy(input, target, this.withBuffers()); }
}
type BCELogitsOptions = { weight?: Tensor | null; reduction?: Reduction; posWeight?: Tensor | null };
export class BCEWithLogitsLoss extends Loss<BCELogitsOptions> {
  declare weight: Tensor | null;
  declare posWeight: Tensor | null;
  constructor(opts: BCELogitsOptions = {}) {
    super('BCEWithLogitsLoss', opts, ['weight', 'reduction', 'posWeight']);
    this.registerBuffer('weight', opts.weight ?? null);
    this.registerBuffer('posWeight', opts.posWeight ?? null);
  }
  forward(input: Tensor, target: Tensor): Tensor { return L.binaryCrossEntropyWithLogits(input, target, this.withBuffers()); }
}
