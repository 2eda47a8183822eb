// Execution: schedule a graph into kernel groups, plan their memory by liveness, lower them
// to WGSL, and encode every dispatch into one command buffer. A Program is the reusable
// result; eager reads build one, run it once and give its intermediates back to the pool.
import { Node, numel } from './ir.js';
import { type DType, type HostArray, DTYPE_INFO, storageBytes, encode, decode } from './dtype.js';
import { schedule, assignBase, type Group } from './schedule.js';
import { lowerGroup, type Dispatch } from './lower.js';
import { state } from './state.js';
import { readable } from './views.js';
import { node } from './ops/index.js';
import { gpu, info, isInitialised } from '../runtime/device.js';
import { pool, newStorage, type Storage, type SharedBuffer } from '../runtime/buffers.js';
import { getKernel, peekKernel, type Kernel } from '../runtime/pipelines.js';
import { QUICK_TILING } from '../shaders/matmul.js';
import { lowerTuned, tuneProgram } from './tuning.js';

export interface ProgramStats { kernels: number; dispatches: number; bufferBytes: number; intermediateBytes: number }

export interface Program {
  passes: { pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; workgroups: [number, number, number]; wgsl: string; label: string }[];
  intermediates: SharedBuffer[];
  /** target nodes and the storage the program writes them to */
  outputs: Map<Node, Storage>;
  assigns: Node[];
  /** resolves when every tuned kernel has replaced its quick stand-in, and measured choices theirs (src/graph/tuning.ts) */
  upgraded: Promise<void>;
  stats: ProgramStats;
}

function makePass(d: Dispatch, k: Kernel, label: string) {
  const entries: GPUBindGroupEntry[] = d.buffers.map((sb, j) => ({ binding: k.bindings.get(`buf${j}`)!, resource: { buffer: sb.buffer } }));
  const bindGroup = gpu().createBindGroup({ layout: k.pipeline.getBindGroupLayout(0), entries });
  return { pipeline: k.pipeline, bindGroup, workgroups: d.workgroups, wgsl: d.wgsl, label };
}

/** Builds a program that computes `targets` (and performs the assigns among them). */
export async function buildProgram(targets: Node[], persistent = false): Promise<Program> {
  const inf = info();
  const maxBindings = inf.limits.maxStorageBuffersPerShaderStage;
  const sched = schedule(targets, maxBindings);
  const storage = new Map<Node, Storage>();
  // realized inputs
  for (const g of sched.groups) for (const l of g.loads.keys()) if (l.realized) storage.set(l, l.storage!);
  // liveness: last group that reads each node
  const lastUse = new Map<Node, number>();
  sched.groups.forEach((g, i) => { for (const l of g.loads.keys()) lastUse.set(l, i); });
  const intermediates: SharedBuffer[] = [];
  const free = new Map<number, SharedBuffer[]>();
  const outputs = new Map<Node, Storage>();
  const releaseAt = new Map<number, Node[]>();
  const bytesOf = (n: Node) => storageBytes(n.dtype, numel(n.shape));
  const allocate = (o: Node, i: number) => {
    if (sched.targets.has(o)) { const s = newStorage(bytesOf(o)); storage.set(o, s); outputs.set(o, s); return; }
    // reuse a buffer whose last reader has already run
    const size = bytesOf(o);
    const list = [...free.entries()].find(([cap, l]) => cap >= size && cap <= size * 2 && l.length);
    let sb = list?.[1].pop();
    if (!sb) { sb = pool.take(size).retain(); intermediates.push(sb); }
    storage.set(o, { buf: sb, byteOffset: 0 });
    const end = lastUse.get(o) ?? i;
    if (!releaseAt.has(end)) releaseAt.set(end, []);
    releaseAt.get(end)!.push(o);
  };
  const aliasesOf = new Map<Group, Node[]>();
  for (const n of sched.writesInto.keys()) {
    const w = sched.writer.get(n);
    if (n.op !== 'assign' || !w) continue;
    if (!aliasesOf.has(w)) aliasesOf.set(w, []);
    aliasesOf.get(w)!.push(n);
  }
  for (let i = 0; i < sched.groups.length; i++) {
    const g = sched.groups[i];
    for (const o of g.outputs) {
      const base = sched.writesInto.get(o), into = sched.placedIn.get(o);
      if (base) storage.set(o, base.storage!);
      else if (into) {
        // a part of a concat: its slice of the concat's buffer, allocated with the first part
        const [c, off] = into;
        if (!storage.has(c)) allocate(c, i);
        const s = storage.get(c)!;
        storage.set(o, { buf: s.buf, byteOffset: s.byteOffset + off * DTYPE_INFO[o.dtype].itemBytes });
      } else allocate(o, i);
    }
    // aliases: assigns whose value was placed in the target
    for (const n of aliasesOf.get(g) ?? []) storage.set(n, sched.writesInto.get(n)!.storage!);
    for (const n of releaseAt.get(i) ?? []) {
      const s = storage.get(n)!;
      if (!free.has(s.buf.bytes)) free.set(s.buf.bytes, []);
      free.get(s.buf.bytes)!.push(s.buf);
    }
  }
  // assign nodes that are targets are outputs too (they live in their base's storage)
  const assigns = [...sched.writesInto.keys()].filter((n) => n.op === 'assign');
  const ctx = { storage, maxPerDim: inf.limits.maxComputeWorkgroupsPerDimension, maxBindings, subgroups: inf.features.subgroups && state.subgroups,
    workgroupStorage: inf.limits.maxComputeWorkgroupStorageSize, maxInvocations: inf.limits.maxComputeInvocationsPerWorkgroup, software: inf.software };
  // Tiered compilation: a matmul whose tuned kernel is not compiled yet runs on a quick-to-compile
  // one; the tuned kernel compiles in the background and replaces it in a persistent program
  // (and in the pipeline cache, for later eager reads) once ready.
  // A forced tiling (kn.debug.setTuning) runs as it is.
  // a kernel whose outputs hold no elements has no work: it is not dispatched
  const slots = sched.groups.filter((g) => g.outputs.some((o) => numel(o.shape) > 0)).flatMap((group) => {
    const { dispatches: best, choice } = lowerTuned(group, sched, ctx);
    const label = groupLabel(group);
    if (group.kind !== 'matmul' || choice?.source === 'forced') return best.map((d) => ({ best: d, quick: undefined as Dispatch | undefined, label, group, choice }));
    const quick = lowerGroup(group, sched, { ...ctx, tiling: QUICK_TILING });
    return best.map((d, i) => ({ best: d, quick: quick[i].wgsl === d.wgsl || peekKernel(d.wgsl) ? undefined : quick[i], label, group, choice }));
  });
  const device = gpu();
  const first = await Promise.all(slots.map((s) => getKernel((s.quick ?? s.best).wgsl)));
  const passes = slots.map((s, i) => makePass(s.quick ?? s.best, first[i], s.label));
  const upgrades = slots.map((s, i) => {
    if (!s.quick) return Promise.resolve();
    return getKernel(s.best.wgsl).then(
      // the device may be gone by then (kn.shutdown): the upgrade is simply dropped
      (k) => { if (persistent && isInitialised() && gpu() === device) passes[i] = makePass(s.best, k, s.label); },
      (e) => { if (isInitialised()) console.warn(`Kiln: a tuned matmul kernel failed to compile; the quick one stays: ${(e as Error).message.split('\n')[0]}`); },
    );
  });
  // Kernel shapes without a tuned choice are measured in the background once these kernels are in.
  const tuned = tuneProgram(slots.map((s) => ({ group: s.group, dispatch: s.best, choice: s.choice })), sched, ctx, persistent, Promise.all(upgrades),
    (i, d, k) => { if (persistent && isInitialised() && gpu() === device) passes[i] = makePass(d, k, slots[i].label); });
  const outBytes = [...outputs.values()].reduce((s, o) => s + o.buf.bytes, 0);
  const interBytes = intermediates.reduce((s, b) => s + b.bytes, 0);
  return {
    passes, intermediates, outputs, assigns,
    upgraded: Promise.all([...upgrades, tuned]).then(() => undefined),
    stats: { kernels: sched.groups.length, dispatches: passes.length, bufferBytes: outBytes + interBytes, intermediateBytes: interBytes },
  };
}

/** What a kernel computes, for profiles: its kind, main op and output shapes. */
function groupLabel(g: Group): string {
  const outs = g.outputs.map((n) => `${n.op}[${n.shape}]`);
  return `${g.kind}${g.core ? ` ${g.core.op}` : ''} -> ${outs.length > 3 ? `${outs.slice(0, 3).join(' ')} +${outs.length - 3}` : outs.join(' ')}`;
}

/** Encodes the whole program into one compute pass and one submit. */
export function runProgram(p: Program, before?: (enc: GPUCommandEncoder) => void, after?: (enc: GPUCommandEncoder) => void): void {
  const device = gpu();
  const enc = device.createCommandEncoder();
  before?.(enc);
  if (p.passes.length) {
    const pass = enc.beginComputePass();
    for (const d of p.passes) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(...d.workgroups);
    }
    pass.end();
  }
  after?.(enc);
  device.queue.submit([enc.finish()]);
}

let queue: Promise<unknown> = Promise.resolve();
/** the failure of a program started by startPending, which nobody awaits: thrown by the next read */
let failed: { error: unknown } | undefined;
/** programs built for eager work (reads and optimizer steps), for tests */
export const eagerStats = { programs: 0 };

/** Computes the given nodes (and every pending assign) in one submit. Serialised: one at a time. */
export function realize(nodes: Node[]): Promise<void> {
  return enqueue(() => {
    if (state.tracing) throw new Error('cannot read a tensor\'s value inside a function traced by kn.compile; return it instead and read it after the call');
    if (failed) { const { error } = failed; failed = undefined; throw error; }
    const targets = new Set(nodes.filter((n) => !n.realized));
    for (const a of state.pendingAssigns) if (!a.realized) targets.add(a);
    if (state.pendingAssigns.length) for (const n of liveReaders(state.pendingAssigns)) targets.add(n);
    else if (state.live.size > 4096) pruneLive();
    state.pendingAssigns = [];
    return targets;
  });
}

/**
 * Where a training step ends (optimizer.step()): builds and submits the program for every
 * pending assign and the live values they overwrite (the step's loss), without waiting for it,
 * so the pending graph stays one step long however rarely the loss is read. The targets are
 * taken now: a loop that never awaits queues one program per step.
 */
export function startPending(): void {
  if (!state.pendingAssigns.length) return;
  const assigns = state.pendingAssigns;
  const targets = new Set([...assigns, ...liveReaders(assigns)]);
  state.pendingAssigns = [];
  enqueue(() => targets).catch((error) => {
    // after kn.shutdown() the step is dropped with the device it was for
    if (isInitialised()) failed ??= { error };
  });
}

function enqueue(collect: () => Set<Node>): Promise<void> {
  const run = async () => {
    const targets = [...collect()].filter((n) => !n.realized);
    if (!targets.length) return;
    eagerStats.programs++;
    const p = await buildProgram(targets);
    runProgram(p);
    finishAssigns(p);
    for (const [n, s] of p.outputs) n.setStorage(s);
    for (const b of p.intermediates) b.release();
  };
  const r = queue.then(run, run);
  queue = r.catch(() => undefined);
  return r;
}

/**
 * Live tensors whose values depend on a version that the pending assigns overwrite: they
 * are computed in the same submit, before the write, so a loss read after opt.step() keeps
 * the value it had.
 */
function liveReaders(assigns: Node[]): Node[] {
  const old = new Set(assigns.map((a) => a.inputs[0]));
  const memo = new Map<Node, boolean>();
  const dependsOnOld = (root: Node): boolean => {
    const stack = [root];
    const path: Node[] = [];
    let found = false;
    const seen = new Set<Node>();
    while (stack.length && !found) {
      const n = stack.pop()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const m = memo.get(n);
      if (m !== undefined) { found = m; continue; }
      if (old.has(n)) { found = true; continue; }
      if (n.realized) continue;
      path.push(n);
      stack.push(...n.inputs);
    }
    if (!found) for (const n of path) memo.set(n, false);
    return found;
  };
  const out: Node[] = [];
  for (const ref of [...state.live]) {
    const t = ref.deref();
    if (!t || t.isDisposed) { state.live.delete(ref); continue; }
    const n = (t as any)._node as Node;
    if (n.realized || n.op === 'assign') { state.live.delete(ref); continue; }
    if (dependsOnOld(n)) out.push(readable(n));
  }
  return out;
}

function pruneLive(): void {
  for (const ref of state.live) {
    const t = ref.deref();
    if (!t || t.isDisposed || ((t as any)._node as Node).realized) state.live.delete(ref);
  }
}

/** Assigns become realized leaves in their base's storage; the overwritten version is retired. */
export function finishAssigns(p: Program): void {
  // oldest first, so a chain of assigns ends on the newest version
  for (const a of p.assigns) {
    const base = assignBase(a);
    const s = base.storage!;
    s.buf.retain();
    a.setStorage({ buf: s.buf, byteOffset: s.byteOffset });
    base.overwritten = true;
    base.releaseStorage();
    a.inputs = [];
  }
}

/** Copies a realized node's value to the CPU. */
export async function readback(n: Node): Promise<HostArray> {
  const s = n.storage;
  if (!s) throw new Error('internal: readback of an unrealized node');
  const device = gpu();
  const count = numel(n.shape);
  const bytes = storageBytes(n.dtype, count);
  const staging = device.createBuffer({ size: bytes, usage: 0x0001 /* MAP_READ */ | 0x0008 /* COPY_DST */ });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(s.buf.buffer, s.byteOffset, staging, 0, bytes);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(0x0001);
  const raw = staging.getMappedRange().slice(0);
  staging.unmap();
  staging.destroy();
  return decode(n.dtype, raw, count);
}

/** A realized leaf holding the given values. */
export function uploadNode(values: ArrayLike<number>, shape: readonly number[], dtype: DType): Node {
  const n = node('buffer', [], { shape: shape.slice(), dtype });
  const count = numel(shape);
  const bytes = encode(dtype, values);
  const s = newStorage(bytes.byteLength);
  if (count) gpu().queue.writeBuffer(s.buf.buffer, 0, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  n.setStorage(s);
  return n;
}
