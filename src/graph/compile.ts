// kn.compile: traces a function once per input signature (dtypes, shapes, the autocast
// setting) into one Program (forward, backward and optimizer update together), then replays
// it: copy the inputs in, one command buffer of dispatches, copy the outputs out. No per-op
// JavaScript runs on replay.
import { Node, numel, shapeStr } from './ir.js';
import { storageBytes } from './dtype.js';
import { Tensor } from './tensor.js';
import { readable } from './views.js';
import { node } from './ops/index.js';
import { state, withAutocast, type AutocastDType } from './state.js';
import { autocastKey } from './autocast.js';
import { buildProgram, runProgram, finishAssigns, realize, type Program, type ProgramStats } from './realize.js';
import { newStorage, type Storage } from '../runtime/buffers.js';
import { gpu } from '../runtime/device.js';

type Out = Tensor | Tensor[] | Record<string, Tensor> | void;

interface Trace { program: Program; inputs: Storage[]; outputs: Node[]; shape: (ts: Tensor[]) => Out }

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
  const traces = new Map<string, Trace>();
  let last: Trace | undefined;

  const compiled = (async (...args: A): Promise<R> => {
    for (const [i, a] of args.entries()) if (!(a instanceof Tensor)) throw new Error(`compiled function: argument ${i} must be a Tensor, got ${typeof a}`);
    // the autocast setting of the call (read before any await: kn.autocast may end meanwhile)
    // is part of the trace's signature, and the trace runs under it
    const autocast = state.autocast;
    const autocastPart = autocastKey();
    // everything recorded before the call (eager updates, uploads) runs first
    const argNodes = args.map((a) => readable(a.node));
    await realize(argNodes);
    const key = `${args.map((a) => `${a.dtype}${shapeStr(a.shape)}`).join(';')}|${autocastPart}`;
    // each call's results get their own storage, so earlier results stay valid; on replay they
    // are copied out in the program's own command buffer (one submit per call)
    const outs: Tensor[] = [];
    const copyOut = (enc: GPUCommandEncoder) => {
      for (const n of tr!.outputs) {
        const bytes = storageBytes(n.dtype, numel(n.shape));
        const s = newStorage(bytes);
        enc.copyBufferToBuffer(n.storage!.buf.buffer, n.storage!.byteOffset, s.buf.buffer, 0, bytes);
        const out = node('buffer', [], { shape: n.shape.slice(), dtype: n.dtype });
        out.setStorage(s);
        outs.push(new Tensor(out));
      }
    };
    let tr = traces.get(key);
    if (tr) run(tr, argNodes, copyOut);
    else {
      // the first call's outputs have storage only once the traced program has run
      tr = await trace(fn, args, argNodes, autocast);
      traces.set(key, tr);
      const enc = gpu().createCommandEncoder();
      copyOut(enc);
      gpu().queue.submit([enc.finish()]);
    }
    last = tr;
    return tr.shape(outs) as R;
  }) as CompiledFunction<A, R>;

  compiled.kernels = () => {
    if (!last) throw new Error('kernels(): the compiled function has not been called yet');
    return last.program.passes.map((p) => p.wgsl);
  };
  compiled.profile = async (reps = 3) => {
    if (!last) throw new Error('profile(): the compiled function has not been called yet');
    const device = gpu();
    const out: { label: string; ms: number }[] = [];
    for (const p of last.program.passes) {
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) {
        const enc = device.createCommandEncoder();
        const pass = enc.beginComputePass();
        pass.setPipeline(p.pipeline); pass.setBindGroup(0, p.bindGroup); pass.dispatchWorkgroups(...p.workgroups);
        pass.end();
        device.queue.submit([enc.finish()]);
      }
      await device.queue.onSubmittedWorkDone();
      out.push({ label: p.label, ms: (performance.now() - t0) / reps });
    }
    return out;
  };
  compiled.ready = async () => { await Promise.all([...traces.values()].map((t) => t.program.upgraded)); };
  compiled.stats = () => {
    if (!last) throw new Error('stats(): the compiled function has not been called yet');
    return { ...last.program.stats, traces: traces.size };
  };
  return compiled;
}

async function trace<A extends Tensor[], R extends Out>(fn: (...a: A) => R, args: A, argNodes: Node[], autocast: AutocastDType | null): Promise<Trace> {
  const inputs: Storage[] = [];
  const placeholders = args.map((a) => {
    const s = newStorage(storageBytes(a.dtype, a.numel()));
    inputs.push(s);
    const n = node('buffer', [], { shape: a.shape, dtype: a.dtype });
    n.setStorage(s);
    n.requiresGrad = a.requiresGrad;
    return new Tensor(n);
  });
  const before = state.pendingAssigns.length;
  state.tracing = true;
  let result: R;
  try { result = withAutocast(autocast, () => fn(...(placeholders as A))); } finally { state.tracing = false; }
  if (result instanceof Promise) throw new Error('kn.compile: the function must be synchronous (it is traced, not awaited)');
  const { tensors, rebuild } = flattenOut(result);
  const outputs = tensors.map((t) => readable(t.node));
  const assigns = state.pendingAssigns.splice(before);
  const program = await buildProgram([...outputs, ...assigns], true);
  const tr: Trace = { program, inputs, outputs, shape: rebuild };
  run(tr, argNodes);
  finishAssigns(program);
  for (const [n, s] of program.outputs) { s.buf.retain(); n.setStorage(s); }
  return tr;
}

function run(tr: Trace, args: Node[], after?: (enc: GPUCommandEncoder) => void): void {
  runProgram(tr.program, (enc) => {
    args.forEach((a, i) => {
      const s = a.storage!;
      if (numel(a.shape)) enc.copyBufferToBuffer(s.buf.buffer, s.byteOffset, tr.inputs[i].buf.buffer, 0, storageBytes(a.dtype, numel(a.shape)));
    });
  }, after);
}
