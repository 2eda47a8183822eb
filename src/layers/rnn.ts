// Recurrent layers with PyTorch's names, options, parameter names and gate orders: RNN (tanh
// or relu), LSTM (with projSize) and GRU. Composed from Tensor ops, so autodiff gives
// backpropagation through time. Per layer and direction, the input projection of all time
// steps is one matmul (with the biases in its epilogue); each time step is then one matmul
// h @ W_hh^T plus the elementwise gate math on views (slices) of the two projections.
// Measured with kn.compile (test/rnn.test.ts): forward 1 kernel per step for RNN (the gate
// math is the matmul's epilogue), 2 for LSTM and GRU; forward + backward 5 (RNN), 6 (LSTM),
// 8.5 (GRU: b_hn's gradient is a reduction per step).
import { Tensor, tensor, stack, concat, constant } from '../graph/tensor.js';
import { scopeSuffix } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { Module, Parameter } from './module.js';
import { uniformArray } from './random.js';
import * as F from './functional.js';
import { pyBool, pyFloat } from './repr.js';

type Mode = 'RNN_TANH' | 'RNN_RELU' | 'LSTM' | 'GRU';

export interface RNNOptions {
  numLayers?: number;
  bias?: boolean;
  batchFirst?: boolean;
  /** dropout on the outputs of every layer but the last, in training mode (none with one layer) */
  dropout?: number;
  bidirectional?: boolean;
}

function fail(name: string, msg: string): never { throw new Error(`${name}: ${msg}${scopeSuffix()}`); }

function checkPositive(name: string, what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) fail(name, `${what} must be a positive integer, got ${v}`);
}

const GATES: Record<Mode, number> = { RNN_TANH: 1, RNN_RELU: 1, LSTM: 4, GRU: 3 };

/** The shared machinery of RNN, LSTM and GRU (torch.nn.RNNBase). */
export abstract class RNNBase<Out> extends Module<Out> {
  readonly numLayers: number;
  readonly bias: boolean;
  readonly batchFirst: boolean;
  readonly dropout: number;
  readonly bidirectional: boolean;
  readonly projSize: number;
  private readonly mode: Mode;
  private readonly kind: string;

  constructor(mode: Mode, readonly inputSize: number, readonly hiddenSize: number,
    { numLayers = 1, bias = true, batchFirst = false, dropout = 0, bidirectional = false, projSize = 0 }: RNNOptions & { projSize?: number } = {}) {
    super();
    const kind = mode === 'LSTM' ? 'LSTM' : mode === 'GRU' ? 'GRU' : 'RNN';
    checkPositive(kind, 'inputSize', inputSize);
    checkPositive(kind, 'hiddenSize', hiddenSize);
    checkPositive(kind, 'numLayers', numLayers);
    if (typeof dropout !== 'number' || !(dropout >= 0 && dropout <= 1)) fail(kind, `dropout must be a number in [0, 1], got ${dropout}`);
    if (!Number.isInteger(projSize) || projSize < 0) fail(kind, `projSize must be a non-negative integer, got ${projSize}`);
    if (projSize && mode !== 'LSTM') fail(kind, 'projSize is only supported by LSTM, not RNN or GRU');
    if (projSize >= hiddenSize && projSize) fail(kind, `projSize (${projSize}) must be smaller than hiddenSize (${hiddenSize})`);
    this.mode = mode; this.kind = kind;
    this.numLayers = numLayers; this.bias = bias; this.batchFirst = batchFirst;
    this.dropout = dropout; this.bidirectional = bidirectional; this.projSize = projSize;
    // parameters in PyTorch's order (layer, direction, then w_ih, w_hh, b_ih, b_hh, w_hr),
    // all U(-1/sqrt(hiddenSize), 1/sqrt(hiddenSize)) as in RNNBase.reset_parameters
    const G = GATES[mode] * hiddenSize, D = bidirectional ? 2 : 1, Hout = projSize || hiddenSize;
    const k = 1 / Math.sqrt(hiddenSize);
    const param = (shape: number[]) => new Parameter(tensor(uniformArray(shape.reduce((a, b) => a * b, 1), -k, k), shape));
    for (let l = 0; l < numLayers; l++) {
      const inL = l === 0 ? inputSize : Hout * D;
      for (let d = 0; d < D; d++) {
        const sfx = `_l${l}${d ? '_reverse' : ''}`;
        const self = this as any;
        self[`weight_ih${sfx}`] = param([G, inL]);
        self[`weight_hh${sfx}`] = param([G, Hout]);
        if (bias) { self[`bias_ih${sfx}`] = param([G]); self[`bias_hh${sfx}`] = param([G]); }
        if (projSize) self[`weight_hr${sfx}`] = param([projSize, hiddenSize]);
      }
    }
  }

  /** PyTorch's RNNBase.extra_repr: the sizes, then the options that differ from the defaults. */
  override extraRepr(): string {
    let s = `${this.inputSize}, ${this.hiddenSize}`;
    if (this.projSize) s += `, proj_size=${this.projSize}`;
    if (this.numLayers !== 1) s += `, num_layers=${this.numLayers}`;
    if (!this.bias) s += `, bias=${pyBool(false)}`;
    if (this.batchFirst) s += `, batch_first=${pyBool(true)}`;
    if (this.dropout) s += `, dropout=${pyFloat(this.dropout)}`;
    if (this.bidirectional) s += `, bidirectional=${pyBool(true)}`;
    return s;
  }

  private p(name: string, l: number, d: number): Parameter | null { return (this as any)[`${name}_l${l}${d ? '_reverse' : ''}`] ?? null; }

  /** Checks an initial state against its expected shape; the hint names the usual mix-ups. */
  private checkState(what: string, t: Tensor, expected: number[], unbatched: boolean): void {
    if (!(t instanceof Tensor)) fail(this.kind, `${what} must be a Tensor, got ${typeof t}`);
    if (t.dtype !== 'float32') fail(this.kind, `expected ${what} of dtype float32, got ${t.dtype}`);
    if (unbatched && t.ndim !== 2) fail(this.kind, `for unbatched 2-D input, ${what} must also be 2-D ([numLayers * numDirections, size]), got shape ${shapeStr(t.shape)}`);
    if (!unbatched && t.ndim !== 3) fail(this.kind, `for batched 3-D input, ${what} must also be 3-D ([numLayers * numDirections, batch, size]), got shape ${shapeStr(t.shape)}`);
    if (t.shape.join() !== expected.join()) {
      const layout = unbatched ? '[numLayers * numDirections, size]' : '[numLayers * numDirections, batch, size]';
      let hint = '';
      if (!unbatched && t.shape[0] === expected[0] && t.shape[1] !== expected[1]) {
        hint = `; the input's batch is ${expected[1]} (batchFirst is ${this.batchFirst}, so the input is read as ${this.batchFirst ? '[batch, seq, feature]' : '[seq, batch, feature]'})`;
      }
      fail(this.kind, `expected ${what} of shape ${shapeStr(expected)} ${layout}, got ${shapeStr(t.shape)}${hint}`);
    }
  }

  /**
   * x: [T, B, inputSize] ([B, T, inputSize] with batchFirst) or unbatched [T, inputSize];
   * hx: h0 [numLayers * D, B, Hout] (RNN, GRU) or [h0, c0] (LSTM; c0 [numLayers * D, B, hiddenSize]).
   */
  protected run(x: Tensor, hx: Tensor | Tensor[] | null | undefined): [Tensor, Tensor, Tensor | null] {
    const name = this.kind, lstm = this.mode === 'LSTM';
    if (!(x instanceof Tensor)) fail(name, `expected the input to be a Tensor, got ${typeof x}`);
    if (x.dtype !== 'float32') fail(name, `expected a float32 input, got ${x.dtype}`);
    const layout = this.batchFirst ? '[batch, seq, inputSize]' : '[seq, batch, inputSize]';
    if (x.ndim !== 2 && x.ndim !== 3) fail(name, `expected input of shape ${layout} (or unbatched [seq, inputSize]), got ${shapeStr(x.shape)}`);
    if (x.shape[x.ndim - 1] !== this.inputSize) fail(name, `input ${shapeStr(x.shape)} has ${x.shape[x.ndim - 1]} features in its last dim, expected inputSize ${this.inputSize}`);
    const unbatched = x.ndim === 2;
    // time-major or batch-major, kept as given: the time step is a view along tdim
    const tdim = unbatched ? 0 : this.batchFirst ? 1 : 0;
    const x3 = unbatched ? x.unsqueeze(1) : x;
    const T = x3.shape[tdim], B = x3.shape[1 - tdim];
    if (T === 0) fail(name, `expected a non-empty sequence, got input ${shapeStr(x.shape)}`);
    const D = this.bidirectional ? 2 : 1, L = this.numLayers, H = this.hiddenSize, Hout = this.projSize || H;
    let h0: Tensor | null = null, c0: Tensor | null = null;
    if (hx !== undefined && hx !== null) {
      if (lstm) {
        if (!Array.isArray(hx) || hx.length !== 2) fail(name, 'expected hx to be [h0, c0] (an array of two tensors)');
        [h0, c0] = hx;
      } else {
        if (Array.isArray(hx)) fail(name, 'expected hx to be one tensor h0, got an array (only LSTM takes [h0, c0])');
        h0 = hx;
      }
      this.checkState('h0', h0!, unbatched ? [L * D, Hout] : [L * D, B, Hout], unbatched);
      if (lstm) this.checkState('c0', c0!, unbatched ? [L * D, H] : [L * D, B, H], unbatched);
      if (unbatched) { h0 = h0!.unsqueeze(1); c0 = c0 ? c0.unsqueeze(1) : null; }
    }

    let layerIn = x3;
    const hN: Tensor[] = [], cN: Tensor[] = [];
    for (let l = 0; l < L; l++) {
      const outs: Tensor[] = [];
      for (let d = 0; d < D; d++) {
        const [out, h, c] = this.direction(layerIn, tdim, l, d, h0 ? select0(h0, l * D + d) : null, c0 ? select0(c0, l * D + d) : null);
        outs.push(out); hN.push(h); if (c) cN.push(c);
      }
      layerIn = D === 1 ? outs[0] : concat(outs, 2);
      if (l < L - 1 && this.dropout > 0 && this.training) layerIn = F.dropout(layerIn, { p: this.dropout });
    }
    let out = layerIn, hn = stack(hN, 0), cn = lstm ? stack(cN, 0) : null;
    if (unbatched) { out = out.squeeze(1); hn = hn.squeeze(1); cn = cn ? cn.squeeze(1) : null; }
    return [out, hn, cn];
  }

  /** One layer in one direction: outputs [.., Hout] stacked along tdim, and the last h (and c). */
  private direction(X: Tensor, tdim: number, l: number, d: number, h0: Tensor | null, c0: Tensor | null): [Tensor, Tensor, Tensor | null] {
    const mode = this.mode, H = this.hiddenSize;
    const wih = this.p('weight_ih', l, d)!, whh = this.p('weight_hh', l, d)!, whr = this.p('weight_hr', l, d);
    const bih = this.p('bias_ih', l, d), bhh = this.p('bias_hh', l, d);
    const [A0, A1, inL] = X.shape;
    const T = X.shape[tdim], B = X.shape[1 - tdim], G = wih.shape[0];
    // the input projection of every time step at once; b_hh joins it except GRU's n part
    // (which sits inside r * (W_hn h + b_hn))
    let xp = X.reshape(A0 * A1, inL).matmul(wih.t());
    if (bih && bhh) {
      const b = mode === 'GRU' ? bih.add(bhh.slice([0], [2 * H]).pad([0], [H])) : bih.add(bhh);
      xp = xp.add(b);
    }
    const xp3 = xp.reshape(A0, A1, G);
    const bhn = mode === 'GRU' && bhh ? bhh.slice([2 * H], [3 * H]) : null;
    const gate = (t: Tensor, k: number) => t.narrow(1, k * H, H);

    // without an initial state the first step's recurrent term is zero and skipped (no
    // matmul); a one-step sequence still multiplies a zero state so that W_hh gets its (zero)
    // gradient, as in PyTorch
    let h = h0 ?? (T === 1 ? constant(0, [B, whh.shape[1]], 'float32') : null), c = c0;
    const hs: Tensor[] = new Array(T);
    for (let s = 0; s < T; s++) {
      const t = d ? T - 1 - s : s;
      const xt = () => xp3.narrow(tdim, t, 1).reshape(B, G);
      const hp = h ? h.matmul(whh.t()) : null;
      if (mode === 'RNN_TANH' || mode === 'RNN_RELU') {
        const a = hp ? xt().add(hp) : xt();
        h = mode === 'RNN_TANH' ? a.tanh() : a.relu();
      } else if (mode === 'LSTM') {
        const g4 = hp ? xt().add(hp) : xt();
        const i = gate(g4, 0).sigmoid(), f = gate(g4, 1).sigmoid(), g = gate(g4, 2).tanh(), o = gate(g4, 3).sigmoid();
        c = c ? f.mul(c).add(i.mul(g)) : i.mul(g);
        h = o.mul(c.tanh());
        if (whr) h = h.matmul(whr.t());
      } else {
        // each gate reads its own view of the projection (one consumer per view: a view read
        // by several consumers would be copied first)
        const xg = (k: number) => xp3.narrow(tdim, t, 1).narrow(2, k * H, H).reshape(B, H);
        const r = (hp ? xg(0).add(gate(hp, 0)) : xg(0)).sigmoid();
        const z = (hp ? xg(1).add(gate(hp, 1)) : xg(1)).sigmoid();
        const hn = hp ? (bhn ? gate(hp, 2).add(bhn) : gate(hp, 2)) : bhn;
        const n = (hn ? xg(2).add(r.mul(hn)) : xg(2)).tanh();
        // h' = (1 - z) * n + z * h
        h = h ? n.add(z.mul(h.sub(n))) : n.sub(z.mul(n));
      }
      hs[t] = h!;
    }
    return [stack(hs, tdim), h!, c];
  }
}

/** x[i] along dim 0, as a view. */
function select0(x: Tensor, i: number): Tensor { return x.narrow(0, i, 1).reshape(x.shape.slice(1)); }

/** torch.nn.RNN: h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu). */
export class RNN extends RNNBase<[Tensor, Tensor]> {
  readonly nonlinearity: 'tanh' | 'relu';
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions & { nonlinearity?: 'tanh' | 'relu' } = {}) {
    const { nonlinearity = 'tanh', ...rest } = opts;
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') fail('RNN', `nonlinearity must be 'tanh' or 'relu', got '${nonlinearity}'`);
    if ('projSize' in rest) fail('RNN', 'projSize is only supported by LSTM, not RNN or GRU');
    super(nonlinearity === 'tanh' ? 'RNN_TANH' : 'RNN_RELU', inputSize, hiddenSize, rest);
    this.nonlinearity = nonlinearity;
  }
  /** Returns [output, hN]. */
  forward(x: Tensor, hx?: Tensor | null): [Tensor, Tensor] {
    const [out, h] = this.run(x, hx);
    return [out, h];
  }
}

/** torch.nn.LSTM, gates i, f, g, o; with projSize, h = W_hr (o * tanh(c)). */
export class LSTM extends RNNBase<[Tensor, [Tensor, Tensor]]> {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions & { projSize?: number } = {}) {
    super('LSTM', inputSize, hiddenSize, opts);
  }
  /** Returns [output, [hN, cN]]. */
  forward(x: Tensor, hx?: [Tensor, Tensor] | null): [Tensor, [Tensor, Tensor]] {
    const [out, h, c] = this.run(x, hx);
    return [out, [h, c!]];
  }
}

/** torch.nn.GRU, gates r, z, n with n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). */
export class GRU extends RNNBase<[Tensor, Tensor]> {
  constructor(inputSize: number, hiddenSize: number, opts: RNNOptions = {}) {
    if ('projSize' in (opts as any)) fail('GRU', 'projSize is only supported by LSTM, not RNN or GRU');
    super('GRU', inputSize, hiddenSize, opts);
  }
  /** Returns [output, hN]. */
  forward(x: Tensor, hx?: Tensor | null): [Tensor, Tensor] {
    const [out, h] = this.run(x, hx);
    return [out, h];
  }
}
