// NaN, infinities and zeros through the ops, as PyTorch gives them (test/golden/gen_ieee.py:
// log(0) = -inf, log(-1) = NaN, inf * 0 = NaN, NaN through max/relu/clamp/sigmoid/softmax, ...).
// Each case is checked twice: the kernels on the device, and the ops' float64 references (the
// graph tests' independent reference), both against PyTorch. A special value must be the same
// special value; finite ones within each op's usual tolerance (ops.test.ts's TRANSC, sin/cos
// its 2^-11; float16 one float16 ulp).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as kn from '../../src/index.js';
import type { Node } from '../../src/graph/ir.js';
import { evaluateReference } from '../../src/graph/reference.js';
import { expectClose, type Tol } from '../compare.js';
import { loadGolden } from '../golden.js';

type Value = number | 'nan' | 'inf' | '-inf';
interface T { shape: number[]; data: Value[] }
interface Case {
  kind: string; op?: string; dtype?: kn.DType; x?: T; s?: number; min?: number; max?: number;
  input?: string; target?: number[]; options?: object; want: T;
}
const G = loadGolden('ieee.json');
const CASES: Case[] = G.cases;

const num = (v: Value): number => (typeof v === 'number' ? v : v === 'nan' ? NaN : v === 'inf' ? Infinity : -Infinity);
const values = (t: T) => t.data.map(num);

const TRANSC: Tol = { rtol: 1e-5, atol: 1e-6 };
const TRIG: Tol = { rtol: 0, atol: 2 ** -11 };
// one float16 ulp (2^-10 relative), and float16's smallest subnormal
const HALF: Tol = { rtol: 2 ** -10, atol: 2 ** -24 };
// float64 against PyTorch's float32: the rounding of one float32 result plus its 1-ulp exp/log
const REF32: Tol = { rtol: 3e-7, atol: 1e-30 };
const EXACT: Tol = { rtol: 0, atol: 0 };

/** Input tensors with their exact values, for the reference evaluator. */
class Inputs {
  readonly values = new Map<Node, Float64Array>();
  of(t: T, dtype: kn.DType = 'float32', requiresGrad = false): kn.Tensor {
    const v = values(t);
    const x = kn.tensor(v, t.shape, { dtype, requiresGrad });
    this.values.set(x.node, Float64Array.from(v));
    return x;
  }
}

function build(c: Case, ins: Inputs): kn.Tensor {
  const d = c.dtype ?? 'float32';
  const m = (t: kn.Tensor, op: string, ...args: unknown[]) => (t as any)[op](...args) as kn.Tensor;
  switch (c.kind) {
    case 'unary': return c.op === 'geluTanh' ? ins.of(c.x!, d).gelu({ approximate: 'tanh' }) : m(ins.of(c.x!, d), c.op!);
    case 'binary': return m(ins.of(G.pairs.a, d), c.op!, ins.of(G.pairs.b, d));
    case 'scalar': return m(ins.of(c.x!, d), c.op!, c.s);
    case 'self': { const x = ins.of(c.x!); return m(x, c.op!, x); }
    case 'clamp': return ins.of(c.x!).clamp(c.min, c.max);
    case 'nanToNum': return ins.of(c.x!, d).nanToNum(c.options);
    // max(dim) gives [values, indices]: amax/amin are the values alone
    case 'rows': return m(ins.of(G.rowInputs[c.input!]), ({ max: 'amax', min: 'amin' } as Record<string, string>)[c.op!] ?? c.op!, -1);
    case 'crossEntropy': {
      const target = kn.tensor(c.target!, [c.target!.length], { dtype: 'int32' });
      ins.values.set(target.node, Float64Array.from(c.target!));
      return kn.F.crossEntropy(ins.of(G.rowInputs[c.input!]), target, { reduction: 'none' });
    }
    case 'all': return m(ins.of(c.x!), c.op!);
    case 'grad': { const x = ins.of(c.x!, 'float32', true); m(x, c.op!).sum().backward(); return x.grad!; }
    case 'cast': return ins.of(c.x!).cast(c.dtype!);
    default: throw new Error(`unknown case kind ${c.kind}`);
  }
}

function tolerance(c: Case, got: ArrayLike<number>): Tol {
  if (!(got instanceof Float32Array) && !((globalThis as any).Float16Array && got instanceof (globalThis as any).Float16Array)) return EXACT;
  if (c.dtype === 'float16') return HALF;
  return c.op === 'sin' || c.op === 'cos' ? TRIG : TRANSC;
}

const label = (c: Case) => `${c.kind} ${c.op ?? ''} ${c.dtype ?? ''}${c.input ? ` (${c.input} rows)` : ''}`.replace(/ +/g, ' ').trim();

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

describe('IEEE special values as PyTorch gives them', () => {
  it('the golden file holds every case the generator wrote', () => {
    expect(CASES.length).toBe(G.count);
    expect(G.count).toBeGreaterThan(100);
  });
  it.each(CASES.map((c) => [label(c), c] as const))('%s', async (what, c) => {
    const ins = new Inputs();
    const t = build(c, ins);
    expect(t.shape, `${what}: shape`).toEqual(c.want.shape);
    const want = values(c.want);
    const got = await t.data();
    expectClose(got, want, tolerance(c, got), `${what}: device`);
    const ref = evaluateReference([t.node], ins.values).get(t.node)!;
    expectClose(ref, want, c.dtype === 'float16' ? HALF : tolerance(c, got) === EXACT ? EXACT : REF32, `${what}: float64 reference`);
  });
});
