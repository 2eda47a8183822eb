// kn.compile: traces a function once per input signature (dtypes, shapes, requiresGrad, grad
// mode, autocast) and replays the trace (compile.ts) on later calls: no per-op JavaScript runs
// on replay. A trace also records the host values it read (guards, such as each module's
// `training` flag) and is replayed only while they hold, as torch.compile's guards. Numbers a
// function captures from its closure are invisible to it: pass them as kn.scalar.
// This file is the Tensor side: arguments, signatures, guards, the output structure.
import { shapeStr } from './ir.js';
import { Tensor } from './tensor.js';
import { readable } from './views.js';
import { state, withAutocast, type Guard } from './state.js';
import { autocastKey } from './autocast.js';
import { realize, type ProgramStats } from './realize.js';
import { options, checkInt, describe } from './args.js';
import { inputNode, recordTrace, replay, profileProgram, type Trace } from './compile.js';

type Out = Tensor | Tensor[] | Record<string, Tensor> | void;

interface TensorTrace { trace: Trace; shape: (ts: Tensor[]) => Out; guards: Guard[] }

export interface CompileOptions {
  /**
   * traces kept per function (default 8, as torch.compile's cache): past it the function
   * runs eagerly, with one warning that says what changed
   */
  maxTraces?: number;
}

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

/** What a trace's signature is made of, one readable part each (a change names the part). */
function signature(args: Tensor[]): string[] {
  return [
    ...args.map((a, i) => `argument ${i}: ${a.dtype}${shapeStr(a.shape)}${a.requiresGrad ? ' requiresGrad' : ''}`),
    autocastKey(),
    `grad mode ${state.gradEnabled ? 'on' : 'off'}`,
  ];
}

/** Why no trace fits: the first guard that failed, or the signature parts that differ. */
function whyRetrace(parts: string[], last: { parts: string[]; tr: TensorTrace } | undefined): string {
  if (!last) return 'first call';
  const changed = parts.filter((p, i) => p !== last.parts[i]);
  if (changed.length) return `${changed.join(', ')} (was ${last.parts.filter((p, i) => p !== parts[i]).join(', ')})`;
  const g = last.tr.guards.find((x) => x.read() !== x.value);
  return g ? `${g.what} is ${String(g.read())} (was ${String(g.value)})` : 'a new signature';
}

export function compile<A extends Tensor[], R extends Out>(fn: (...args: A) => R, opts: CompileOptions = {}): CompiledFunction<A, R> {
  options('compile', opts, ['maxTraces']);
  const maxTraces = opts.maxTraces === undefined ? 8 : checkInt('compile', 'maxTraces', opts.maxTraces, 1);
  if (typeof fn !== 'function') throw new Error(`compile: expected a function, got ${describe(fn)}`);
  const traces = new Map<string, TensorTrace[]>();
  let count = 0, warned = false;
  let last: { parts: string[]; tr: TensorTrace } | undefined;
  const lastTrace = (what: string): Trace => {
    if (!last) throw new Error(`${what}(): the compiled function has not been called yet`);
    return last.tr.trace;
  };

  const compiled = (async (...args: A): Promise<R> => {
    for (const [i, a] of args.entries()) if (!(a instanceof Tensor)) throw new Error(`compiled function: argument ${i} must be a Tensor, got ${describe(a)}`);
    // the autocast setting of the call (read before any await: kn.autocast may end meanwhile)
    // is part of the trace's signature, and the trace runs under it
    const autocast = state.autocast;
    const parts = signature(args), key = parts.join('; ');
    const candidates = traces.get(key) ?? [];
    let tr = candidates.find((t) => t.guards.every((g) => g.read() === g.value));
    if (!tr && count >= maxTraces) {
      if (!warned) {
        warned = true;
        console.warn(`kn.compile: ${count} traces of this function (maxTraces); running it eagerly from now on. The last retrace: ${whyRetrace(parts, last)}. Keep shapes and modes fixed, or raise maxTraces.`);
      }
      return fn(...args);
    }
    // everything recorded before the call (eager updates, uploads) runs first
    const argNodes = args.map((a) => readable(a.node));
    await realize(argNodes);
    let values;
    if (tr) values = replay(tr.trace, argNodes);
    else {
      const inputs = args.map((a) => inputNode(a.shape, a.dtype, a.requiresGrad));
      const before = state.pendingAssigns.length;
      const guards: Guard[] = [];
      const undo: (() => void)[] = [];
      Object.assign(state, { tracing: true, guards, undo });
      let result: R;
      try {
        result = withAutocast(autocast, () => fn(...(inputs.map((i) => new Tensor(i.node)) as A)));
      } catch (e) {
        // a trace that throws leaves nothing behind: no pending update, no rebound tensor
        state.pendingAssigns.splice(before);
        for (const u of undo.reverse()) u();
        throw e;
      } finally { Object.assign(state, { tracing: false, guards: null, undo: null }); }
      if (result instanceof Promise) throw new Error('kn.compile: the function must be synchronous (it is traced, not awaited)');
      const { tensors, rebuild } = flattenOut(result);
      const recorded = await recordTrace(inputs.map((i) => i.storage), tensors.map((t) => readable(t.node)), state.pendingAssigns.splice(before), argNodes);
      tr = { trace: recorded.trace, shape: rebuild, guards };
      traces.set(key, [...candidates, tr]);
      count++;
      values = recorded.values;
    }
    last = { parts, tr };
    return tr.shape(values.map((n) => new Tensor(n))) as R;
  }) as CompiledFunction<A, R>;

  compiled.kernels = () => lastTrace('kernels').program.passes.map((p) => p.wgsl);
  compiled.profile = async (reps = 3) => profileProgram(lastTrace('profile').program, reps);
  compiled.ready = async () => { await Promise.all([...traces.values()].flat().map((t) => t.trace.program.upgraded)); };
  compiled.stats = () => ({ ...lastTrace('stats').program.stats, traces: count });
  return compiled;
}
