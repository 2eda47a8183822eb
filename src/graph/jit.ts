// kn.compile: traces a function once per input signature (dtypes, shapes, the autocast
// setting) and replays the trace (compile.ts) on later calls: no per-op JavaScript runs on
// replay. This file is the Tensor side: arguments, signatures, the output structure.
import { shapeStr } from './ir.js';
import { Tensor } from './tensor.js';
import { readable } from './views.js';
import { state, withAutocast } from './state.js';
import { autocastKey } from './autocast.js';
import { realize, type ProgramStats } from './realize.js';
import { inputNode, recordTrace, replay, profileProgram, type Trace } from './compile.js';

type Out = Tensor | Tensor[] | Record<string, Tensor> | void;

interface TensorTrace { trace: Trace; shape: (ts: Tensor[]) => Out }

export interface CompiledFunction<A extends Tensor[], R extends Out> {
  (...args: A): Promise<R>;
  /** the WGSL of each dispatch of the program for the most recent signature, in order */
  kernels(): string[];
  /**
   * resolves once every traced program runs on its tuned kernels: the first calls use quick ones,
   * and a kernel shape new to this adapter switches to the fastest candidate once measured
   */
  ready(): Promise<void>;
  /** kernel and memory figures of the program for the most recent signature */
  stats(): ProgramStats & { traces: number };
  /**
   * Wall time of each dispatch of the most recent program, each run alone `reps` times and
   * waited for. For finding the slow kernels; it re-runs in-place updates (an optimizer step
   * is applied `reps` more times), so profile a throw-away model.
   */
  profile(reps?: number): Promise<{ label: string; ms: number }[]>;
}

function flattenOut(r: Out): { tensors: Tensor[]; rebuild: (ts: Tensor[]) => Out } {
  if (r === undefined) return { tensors: [], rebuild: () => undefined };
  if (r instanceof Tensor) return { tensors: [r], rebuild: (ts) => ts[0] };
  if (Array.isArray(r)) return { tensors: r, rebuild: (ts) => ts };
  const keys = Object.keys(r);
  return { tensors: keys.map((k) => r[k]), rebuild: (ts) => Object.fromEntries(keys.map((k, i) => [k, ts[i]])) };
}

export function compile<A extends Tensor[], R extends Out>(fn: (...args: A) => R): CompiledFunction<A, R> {
  const traces = new Map<string, TensorTrace>();
  let last: TensorTrace | undefined;
  const lastTrace = (what: string): Trace => {
    if (!last) throw new Error(`${what}(): the compiled function has not been called yet`);
    return last.trace;
  };

  const compiled = (async (...args: A): Promise<R> => {
    for (const [i, a] of args.entries()) if (!(a instanceof Tensor)) throw new Error(`compiled function: argument ${i} must be a Tensor, got ${typeof a}`);
    // the autocast setting of the call (read before any await: kn.autocast may end meanwhile)
    // is part of the trace's signature, and the trace runs under it
    const autocast = state.autocast;
    const key = `${args.map((a) => `${a.dtype}${shapeStr(a.shape)}`).join(';')}|${autocastKey()}`;
    // everything recorded before the call (eager updates, uploads) runs first
    const argNodes = args.map((a) => readable(a.node));
    await realize(argNodes);
    let tr = traces.get(key), values;
    if (tr) values = replay(tr.trace, argNodes);
    else {
      const inputs = args.map((a) => inputNode(a.shape, a.dtype, a.requiresGrad));
      const before = state.pendingAssigns.length;
      state.tracing = true;
      let result: R;
      try { result = withAutocast(autocast, () => fn(...(inputs.map((i) => new Tensor(i.node)) as A))); } finally { state.tracing = false; }
      if (result instanceof Promise) throw new Error('kn.compile: the function must be synchronous (it is traced, not awaited)');
      const { tensors, rebuild } = flattenOut(result);
      const recorded = await recordTrace(inputs.map((i) => i.storage), tensors.map((t) => readable(t.node)), state.pendingAssigns.splice(before), argNodes);
      tr = { trace: recorded.trace, shape: rebuild };
      traces.set(key, tr);
      values = recorded.values;
    }
    last = tr;
    return tr.shape(values.map((n) => new Tensor(n))) as R;
  }) as CompiledFunction<A, R>;

  compiled.kernels = () => lastTrace('kernels').program.passes.map((p) => p.wgsl);
  compiled.profile = async (reps = 3) => profileProgram(lastTrace('profile').program, reps);
  compiled.ready = async () => { await Promise.all([...traces.values()].map((t) => t.trace.program.upgraded)); };
  compiled.stats = () => ({ ...lastTrace('stats').program.stats, traces: traces.size });
  return compiled;
}
