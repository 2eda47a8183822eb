// Lowering: turns one kernel group into WGSL through the emitters in src/shaders. View ops
// become index arithmetic, elementwise ops become expressions, and buffers already planned
// become loads, so a fused kernel reads each input once at the index it needs.
import { Node, type Shape, numel, contiguousStrides } from './ir.js';
import { type DType, DTYPE_INFO, literal, f32Literal as f32 } from './dtype.js';
import { ELEMENTWISE, ELEMENTWISE_PRELUDE } from './ops/elementwise.js';
import { FAMILY } from './ops/structural.js';
import type { Group, Schedule } from './schedule.js';
import { stridedView } from './views.js';
import type { Storage, SharedBuffer } from '../runtime/buffers.js';
import type { BufferDecl, ElemType } from '../shaders/common.js';
import { elementwiseKernel } from '../shaders/elementwise.js';
import { reduceKernel, type Combine } from '../shaders/reduce.js';
import { rowsKernel, momentsKernel } from '../shaders/rows.js';
import { matmulKernel, vectorLoads, type MatmulTiling } from '../shaders/matmul.js';
import { attentionKernel, attentionBlock, attentionLayout } from '../shaders/attention.js';
import { attentionInputs, attentionDims, type AttentionAttrs } from './ops/attention.js';

export interface Dispatch { wgsl: string; workgroups: [number, number, number]; buffers: SharedBuffer[] }

export interface LowerContext {
  storage: Map<Node, Storage>;
  maxPerDim: number;
  maxBindings: number;
  tiling?: MatmulTiling;
  /** the device has subgroups and they are not switched off (kn.debug.setSubgroups) */
  subgroups?: boolean;
  /** maxComputeWorkgroupStorageSize and maxComputeInvocationsPerWorkgroup (WebGPU's defaults when absent) */
  workgroupStorage?: number;
  maxInvocations?: number;
  /** a CPU adapter (SwiftShader, llvmpipe): kernel shapes that suit SIMD lanes */
  software?: boolean;
}

const wgslType = (d: DType): string => DTYPE_INFO[d].compute;
const storeType = (d: DType): ElemType => DTYPE_INFO[d].storage;
/** The element index where a storage starts (its byte offset in elements of dtype d). */
const elementOffset = (s: Storage, d: DType): number => s.byteOffset / DTYPE_INFO[d].itemBytes;

interface Idx { flat?: string; dims?: string[] }

class Builder {
  private blocks: string[][] = [[]];
  private memos: Map<string, string>[] = [new Map()];
  private tmp = 0;
  /** nodes whose value at the kernel's own index sits in a register */
  registers = new Map<Node, string>();
  ownFlat = 'gi';
  /** bindings in order: binding i is named buf{i}; a buffer may appear twice (scalar and vec4 views) */
  private slots: [SharedBuffer, BufferDecl][] = [];
  private scalar = new Map<SharedBuffer, BufferDecl>();
  private vector = new Map<SharedBuffer, BufferDecl>();
  get bindingCount(): number { return this.slots.length; }

  constructor(private ctx: LowerContext) {}

  emit(line: string): void { this.blocks[this.blocks.length - 1].push(line); }
  fresh(p = 'v'): string { return `${p}${this.tmp++}`; }
  /** Runs fn in a nested block (a loop body) and returns its lines. */
  scoped(fn: () => void): string {
    this.blocks.push([]); this.memos.push(new Map());
    fn();
    this.memos.pop();
    return this.blocks.pop()!.map((l) => `    ${l}`).join('\n');
  }
  private memoGet(k: string): string | undefined {
    for (let i = this.memos.length - 1; i >= 0; i--) { const v = this.memos[i].get(k); if (v) return v; }
    return undefined;
  }
  private memoSet(k: string, v: string): void { this.memos[this.memos.length - 1].set(k, v); }

  buffer(s: Storage, d: DType, writable: boolean): string {
    let b = this.scalar.get(s.buf);
    const type = storeType(d);
    if (!b) { b = { name: `buf${this.slots.length}`, type, writable }; this.scalar.set(s.buf, b); this.slots.push([s.buf, b]); }
    if (b.type !== type) throw new Error(`internal: buffer read as ${b.type} and ${type} in one kernel (a Kiln bug)`);
    if (writable && this.vector.has(s.buf)) throw new Error('internal: a buffer read as vec4 is written in the same kernel (a Kiln bug)');
    b.writable ||= writable;
    return b.name;
  }
  /** The buffer bound (read-only) as array<vec4<f32>>. */
  buffer4(s: Storage): string {
    let b = this.vector.get(s.buf);
    if (!b) { b = { name: `buf${this.slots.length}`, type: 'vec4<f32>', writable: false }; this.vector.set(s.buf, b); this.slots.push([s.buf, b]); }
    return b.name;
  }

  flat(idx: Idx, shape: Shape): string {
    if (idx.flat !== undefined) return idx.flat;
    const st = contiguousStrides(shape);
    const terms = idx.dims!.map((d, i) => (shape[i] === 1 ? '' : st[i] === 1 ? d : `${d} * ${st[i]}u`)).filter(Boolean);
    if (!terms.length) return '0u';
    const k = `flat|${terms.join('+')}`;
    const hit = this.memoGet(k); if (hit) return hit;
    const v = this.fresh('f'); this.emit(`let ${v} = ${terms.join(' + ')};`); this.memoSet(k, v);
    return v;
  }
  dims(idx: Idx, shape: Shape): string[] {
    if (idx.dims) return idx.dims;
    const st = contiguousStrides(shape);
    return shape.map((d, i) => {
      if (d === 1) return '0u';
      const e = i === 0 ? `${idx.flat} / ${st[i]}u` : st[i] === 1 ? `${idx.flat} % ${d}u` : `(${idx.flat} / ${st[i]}u) % ${d}u`;
      const k = `dim|${e}`;
      const hit = this.memoGet(k); if (hit) return hit;
      const v = this.fresh('i'); this.emit(`let ${v} = ${e};`); this.memoSet(k, v);
      return v;
    });
  }
  private isOwn(idx: Idx): boolean { return idx.flat === this.ownFlat; }

  /** The value of node n at idx (a WGSL expression of n's type). */
  value(n: Node, idx: Idx): string {
    const reg = this.registers.get(n);
    if (reg !== undefined && this.isOwn(idx)) return reg;
    const s = this.ctx.storage.get(n);
    if (s) {
      const k = `${n.id}|${this.flat(idx, n.shape)}`;
      const hit = this.memoGet(k); if (hit) return hit;
      const b = this.buffer(s, n.dtype, false);
      const off = elementOffset(s, n.dtype);
      const raw = `${b}[${off ? `${off}u + ` : ''}${this.flat(idx, n.shape)}]`;
      const v = this.fresh('l');
      this.emit(`let ${v} = ${n.dtype === 'bool' ? `(${raw} != 0u)` : raw};`);
      this.memoSet(k, v);
      return v;
    }
    return this.compute(n, idx);
  }

  /** The value of n at idx computed inline from its inputs. */
  compute(n: Node, idx: Idx): string {
    const key = `${n.id}|c|${idx.flat ?? idx.dims!.join(',')}`;
    const hit = this.memoGet(key); if (hit) return hit;
    const r = this.computeUncached(n, idx);
    this.memoSet(key, r);
    return r;
  }

  private computeUncached(n: Node, idx: Idx): string {
    const a = n.attrs;
    if (n.op === 'assign') return this.value(n.inputs[1], idx);
    const ew = ELEMENTWISE[n.op];
    if (ew) {
      const args = n.inputs.map((i) => this.value(i, idx));
      const v = this.fresh();
      // each op's result is a value of its dtype (float16 rounds, int8 wraps), as PyTorch's are
      const norm = DTYPE_INFO[n.dtype].normalize, e = ew.wgsl(args, a, wgslType(n.dtype));
      this.emit(`let ${v} = ${norm ? `${norm}(${e})` : e};`);
      return v;
    }
    switch (n.op) {
      case 'const': return literal(a.value, n.dtype);
      case 'arange': return `i32(${this.dims(idx, n.shape)[0]})`;
      case 'rand': {
        const seed = this.value(n.inputs[0], { flat: '0u' });
        const v = this.fresh('r');
        this.emit(`let ${v} = kn_rand(u32(${seed}), ${this.flat(idx, n.shape)}, ${a.salt >>> 0}u);`);
        return v;
      }
      case 'reshape': {
        if (idx.flat !== undefined) return this.value(n.inputs[0], { flat: idx.flat });
        // dims in hand: map each group of output dims to the input dims with the same extent, so
        // only those are raveled and unraveled (no trip through a flat index for every dim)
        const inShape = n.inputs[0].shape, d = idx.dims!;
        const inDims = inShape.map(() => '0u');
        for (const [og, ig] of reshapeGroups(n.shape, inShape)) {
          const sub = og.length === 1 ? d[og[0]] : this.flat({ dims: og.map((k) => d[k]) }, og.map((k) => n.shape[k]));
          if (ig.length === 1) { inDims[ig[0]] = sub; continue; }
          const parts = this.dims({ flat: sub }, ig.map((k) => inShape[k]));
          ig.forEach((k, m) => { inDims[k] = parts[m]; });
        }
        return this.value(n.inputs[0], { dims: inDims });
      }
      case 'permute': {
        const d = this.dims(idx, n.shape);
        const r = new Array<string>(d.length);
        a.dims.forEach((p: number, i: number) => { r[p] = d[i]; });
        return this.value(n.inputs[0], { dims: r });
      }
      case 'expand': {
        const d = this.dims(idx, n.shape), inShape = n.inputs[0].shape;
        return this.value(n.inputs[0], { dims: d.map((x, i) => (inShape[i] === 1 ? '0u' : x)) });
      }
      case 'slice': {
        const d = this.dims(idx, n.shape);
        return this.value(n.inputs[0], { dims: d.map((x, i) => (a.starts[i] === 0 && a.steps[i] === 1 ? x : `(${a.starts[i]}u + ${x} * ${a.steps[i]}u)`)) });
      }
      case 'pad': {
        const d = this.dims(idx, n.shape), inShape = n.inputs[0].shape;
        // u32 wrap-around makes one comparison check both sides. Bounds use `&`, never `&&`:
        // short-circuits become branches, and SwiftShader's compile time grows exponentially with
        // the branches in an unrolled matmul loop (24 window loads: 3.5 s, 32: minutes).
        const shifted = d.map((x, i) => (a.before[i] ? `(${x} - ${a.before[i]}u)` : x));
        const ok = this.fresh('ok');
        this.emit(`let ${ok} = ${shifted.map((x, i) => `(${x} < ${inShape[i]}u)`).join(' & ') || 'true'};`);
        const inner = this.value(n.inputs[0], { dims: shifted.map((x) => `select(0u, ${x}, ${ok})`) });
        return `select(${literal(0, n.dtype)}, ${inner}, ${ok})`;
      }
      case 'concat': {
        const d = this.dims(idx, n.shape);
        let off = 0;
        const parts: [string, string][] = [];
        for (const inp of n.inputs) {
          const len = inp.shape[a.axis];
          const local = `min(${d[a.axis]} - ${off}u, ${len - 1}u)`;
          const dd = d.slice(); dd[a.axis] = off ? `select(0u, ${local}, ${d[a.axis]} >= ${off}u)` : `min(${d[a.axis]}, ${len - 1}u)`;
          parts.push([`${d[a.axis]} < ${off + len}u`, this.value(inp, { dims: dd })]);
          off += len;
        }
        let e = parts[parts.length - 1][1];
        for (let i = parts.length - 2; i >= 0; i--) e = `select(${e}, ${parts[i][1]}, ${parts[i][0]})`;
        const v = this.fresh(); this.emit(`let ${v} = ${e};`);
        return v;
      }
      case 'window': {
        // x[n, c, p*sh + i*dh - pt, q*sw + j*dw - pl]; u32 wrap-around makes one compare per side
        const [dn, dc, di, dj, dp, dq] = this.dims(idx, n.shape);
        const [, , H, W] = n.inputs[0].shape;
        const h = this.fresh('h'), w = this.fresh('w'), ok = this.fresh('ok');
        this.emit(`let ${h} = ${dp} * ${a.sh}u + ${di} * ${a.dh}u - ${a.pt}u;`);
        this.emit(`let ${w} = ${dq} * ${a.sw}u + ${dj} * ${a.dw}u - ${a.pl}u;`);
        this.emit(`let ${ok} = (${h} < ${H}u) & (${w} < ${W}u);`);
        const inner = this.value(n.inputs[0], { dims: [dn, dc, `select(0u, ${h}, ${ok})`, `select(0u, ${w}, ${ok})`] });
        return `select(${literal(a.padValue ?? 0, n.dtype)}, ${inner}, ${ok})`;
      }
      case 'unwindow': {
        // g[n, c, i, j, (h + pt - i*dh) / sh, (w + pl - j*dw) / sw] where that lands on a window
        const [dn, dc, dh, dw, di, dj] = this.dims(idx, n.shape);
        const [, , , , OH, OW] = n.inputs[0].shape;
        const p = this.fresh('p'), q = this.fresh('q'), ok = this.fresh('ok');
        this.emit(`let ${p} = i32(${dh}) + ${a.pt}i - i32(${di}) * ${a.dh}i;`);
        this.emit(`let ${q} = i32(${dw}) + ${a.pl}i - i32(${dj}) * ${a.dw}i;`);
        this.emit(`let ${ok} = (${p} >= 0i) & (${q} >= 0i) & (${p} % ${a.sh}i == 0i) & (${q} % ${a.sw}i == 0i) & (${p} / ${a.sh}i < ${OH}i) & (${q} / ${a.sw}i < ${OW}i);`);
        const inner = this.value(n.inputs[0], { dims: [dn, dc, di, dj, `select(0u, u32(${p} / ${a.sh}i), ${ok})`, `select(0u, u32(${q} / ${a.sw}i), ${ok})`] });
        return `select(${literal(0, n.dtype)}, ${inner}, ${ok})`;
      }
      case 'indexSelect': case 'gather': {
        const d = this.dims(idx, n.shape);
        const [src, index] = n.inputs;
        const at = n.op === 'indexSelect' ? this.value(index, { dims: [d[a.axis]] }) : this.value(index, { dims: d });
        const dd = d.slice();
        // clamp: an index out of range must never read past the buffer
        dd[a.axis] = `u32(clamp(${at}, 0i, ${src.shape[a.axis] - 1}i))`;
        return this.value(src, { dims: dd });
      }
    }
    throw new Error(`internal: cannot inline op ${n.op} (family ${FAMILY[n.op]}) (a Kiln bug)`);
  }

  store(n: Node, flat: string, v: string): void {
    const s = this.ctx.storage.get(n)!;
    const b = this.buffer(s, n.dtype, true);
    const off = elementOffset(s, n.dtype);
    // an elementwise result is already a value of its dtype; a core's (a float16 sum) is rounded here
    const norm = n.op in ELEMENTWISE ? undefined : DTYPE_INFO[n.dtype].normalize;
    const val = norm ? `${norm}(${v})` : v;
    this.emit(`${b}[${off ? `${off}u + ` : ''}${flat}] = ${n.dtype === 'bool' ? `select(0u, 1u, ${val})` : val};`);
  }

  body(): string { return this.blocks[0].map((l) => `  ${l}`).join('\n'); }
  decls(): BufferDecl[] { return this.slots.map(([, d]) => d); }
  bufferList(): SharedBuffer[] { return this.slots.map(([b]) => b); }
}

/** Groups of dims (size-1 dims left out) with equal extents in two shapes of one size. */
function reshapeGroups(a: Shape, b: Shape): [number[], number[]][] {
  const ia = a.map((_, i) => i).filter((i) => a[i] !== 1), ib = b.map((_, i) => i).filter((i) => b[i] !== 1);
  const groups: [number[], number[]][] = [];
  let x = 0, y = 0;
  while (x < ia.length && y < ib.length) {
    const ga = [ia[x++]], gb = [ib[y++]];
    let pa = a[ga[0]], pb = b[gb[0]];
    while (pa !== pb) {
      if (pa < pb) { ga.push(ia[x]); pa *= a[ia[x++]]; } else { gb.push(ib[y]); pb *= b[ib[y++]]; }
    }
    groups.push([ga, gb]);
  }
  return groups;
}

const PRELUDE = `${ELEMENTWISE_PRELUDE}
fn kn_rand(seed: u32, i: u32, salt: u32) -> f32 {
  // PCG hash of (seed, index, salt): counter-based, so replays and fusion give the same stream
  var h = i * 747796405u + 2891336453u + seed * 277803737u + salt * 2654435769u;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  h = h * 747796405u + seed;
  h = ((h >> ((h >> 28u) + 4u)) ^ h) * 277803737u;
  h = (h >> 22u) ^ h;
  return f32(h >> 8u) * (1.0 / 16777216.0);
}`;

function checkBindings(b: Builder, ctx: LowerContext, what: string): void {
  if (b.bindingCount > ctx.maxBindings) {
    throw new Error(`a fused ${what} kernel needs ${b.bindingCount} storage buffers but the adapter allows ${ctx.maxBindings} (maxStorageBuffersPerShaderStage); this graph is not supported yet on this adapter`);
  }
}

/** Stores every output of an elementwise-style body at the kernel's own index. */
function storeOutputs(b: Builder, g: Group, sched: Schedule): void {
  for (const o of g.outputs) {
    if (o === g.core) continue;
    const v = b.compute(o, { flat: b.ownFlat });
    b.store(o, b.ownFlat, v);
    b.registers.set(o, v);
    for (const [alias, base] of sched.writesInto) if (alias.op === 'assign' && alias.inputs[1] === o && base === sched.writesInto.get(o)) b.registers.set(alias, v);
  }
}

export function lowerGroup(g: Group, sched: Schedule, ctx: LowerContext): Dispatch[] {
  const b = new Builder(ctx);
  const last = g.outputs[g.outputs.length - 1];
  switch (g.kind) {
    case 'elementwise': {
      storeOutputs(b, g, sched);
      checkBindings(b, ctx, 'elementwise');
      const k = elementwiseKernel({ buffers: b.decls(), prelude: PRELUDE, size: numel(last.shape), body: b.body(), maxPerDim: ctx.maxPerDim });
      return [{ ...k, buffers: b.bufferList() }];
    }
    case 'concat': return lowerConcat(g, ctx);
    case 'attention': return lowerAttention(g, b, ctx);
    case 'reduce': {
      const core = g.core!, x = core.inputs[0];
      const axes: number[] = core.attrs.axes;
      const outputs = numel(core.shape), K = axes.reduce((p, ax) => p * x.shape[ax], 1);
      const keptShape = x.shape.filter((_, i) => !axes.includes(i)), redShape = axes.map((ax) => x.shape[ax]);
      b.ownFlat = 'o';
      const od = b.dims({ flat: 'o' }, keptShape);
      const load = b.scoped(() => {
        const kd = b.dims({ flat: 'k' }, redShape);
        let ki = 0, oi = 0;
        const dims = x.shape.map((_, i) => (axes.includes(i) ? kd[ki++] : od[oi++]));
        b.emit(`let val = ${b.value(x, { dims })};`);
      });
      const pre = b.body();
      const ty = wgslType(x.dtype);
      const arg = core.op === 'argmax' || core.op === 'argmin';
      const store = b.scoped(() => {
        const norm = DTYPE_INFO[core.dtype].normalize;
        b.registers.set(core, arg ? 'i32(arg)' : norm ? `${norm}(acc)` : 'acc');
        if (g.outputs.includes(core)) b.store(core, 'o', arg ? 'i32(arg)' : 'acc');
        storeOutputs(b, g, sched);
      });
      checkBindings(b, ctx, 'reduction');
      const k = reduceKernel({
        buffers: b.decls(), prelude: PRELUDE, op: core.op as Combine, ty, outputs, reduceSize: K,
        pre, load, store, maxPerDim: ctx.maxPerDim, software: ctx.software,
      });
      return [{ ...k, buffers: b.bufferList() }];
    }
    case 'rows': {
      const core = g.core!, x = core.inputs[0];
      const C = x.shape[x.shape.length - 1], R = numel(x.shape) / C;
      b.ownFlat = core.op === 'softmax' ? '(r * C + c)' : 'r';
      const at = `(r * ${C}u + c)`;
      const load = b.scoped(() => {
        b.emit(`let x = ${b.value(x, { flat: at })};`);
        if (core.op === 'sumDot') b.emit(`let y = ${b.value(core.inputs[1], { flat: at })};`);
      });
      if (core.op === 'moments' || core.op === 'sumDot') {
        const [first, second] = core.op === 'moments' ? ['mean', 'vr'] : ['s0', 's1'];
        const store = b.scoped(() => { b.store(core, '(r * 2u)', first); b.store(core, '(r * 2u + 1u)', second); });
        checkBindings(b, ctx, 'row');
        const k = momentsKernel({ buffers: b.decls(), prelude: PRELUDE, rows: R, cols: C, load, store, maxPerDim: ctx.maxPerDim, subgroups: ctx.subgroups, sumDot: core.op === 'sumDot' });
        return [{ ...k, buffers: b.bufferList() }];
      }
      let target: string | undefined;
      if (core.op === 'crossEntropyRows') target = b.scoped(() => { b.emit(`let t = ${b.value(core.inputs[1], { flat: 'r' })};`); });
      const store = b.scoped(() => b.store(core, core.op === 'softmax' ? `(r * ${C}u + c)` : 'r', core.op === 'softmax' ? 'y' : 'loss'));
      checkBindings(b, ctx, 'row');
      const k = rowsKernel({
        buffers: b.decls(), prelude: PRELUDE, rows: R, cols: C, load, store, target,
        mode: core.op === 'softmax' ? (core.attrs.log ? 'logSoftmax' : 'softmax') : 'nll',
        labelSmoothing: core.attrs.labelSmoothing, ignoreIndex: core.attrs.ignoreIndex, maxPerDim: ctx.maxPerDim,
      });
      return [{ ...k, buffers: b.bufferList() }];
    }
    case 'matmul': {
      const core = g.core!;
      const [B, M, N] = core.shape, K = core.inputs[0].shape[2];
      const isBuf = (n: Node) => ctx.storage.has(n);
      const view = (n: Node) => {
        const v = stridedView(n, isBuf);
        if (!v) return null;
        const s = ctx.storage.get(v.base)!;
        return { s, dtype: v.base.dtype, layout: { offset: elementOffset(s, v.base.dtype) + v.offset, sb: v.strides[0], s0: v.strides[1], s1: v.strides[2] } };
      };
      const va = view(core.inputs[0]), vb = view(core.inputs[1]);
      // vec4 views are read-only bindings: not for a buffer this kernel also writes
      const written = new Set(g.outputs.map((o) => ctx.storage.get(o)?.buf));
      const noStrides = { offset: 0, sb: 0, s0: 0, s1: 0 };
      const vec = vectorLoads({ batch: B, M, N, K, a: va?.layout ?? { ...noStrides, fn: 'f' }, b: vb?.layout ?? { ...noStrides, fn: 'f' }, tiling: ctx.tiling });
      const useB = !!vb && vec.b && !written.has(vb.s.buf), useA = !!va && useB && vec.a && !written.has(va.s.buf);
      // an operand that is no strided view (sliding windows, padding) is computed by a function
      // of (batch, row, column): the implicit GEMM of a convolution, with no buffer in between
      const fns: string[] = [];
      const operand = (o: typeof va, node: Node, name: string, vec4: boolean) => {
        if (!o) {
          const body = b.scoped(() => { b.emit(`return ${b.value(node, { dims: ['bi', 'i', 'j'] })};`); });
          fns.push(`fn ${name}(bi: u32, i: u32, j: u32) -> f32 {\n${body}\n}`);
          return { ...noStrides, buf: '', fn: name };
        }
        return vec4 ? { ...o.layout, buf: '', buf4: b.buffer4(o.s) } : { ...o.layout, buf: b.buffer(o.s, o.dtype, false) };
      };
      const a = operand(va, core.inputs[0], 'kn_load_a', useA), bb = operand(vb, core.inputs[1], 'kn_load_b', useB);
      b.ownFlat = 'fo';
      b.emit(`let fo = (bi * ${M}u + row) * ${N}u + col;`);
      // a float16 product is rounded for its epilogue too, so a fused consumer sees the stored value
      const norm = DTYPE_INFO[core.dtype].normalize;
      b.registers.set(core, norm ? `${norm}(acc)` : 'acc');
      if (g.outputs.includes(core)) b.store(core, 'fo', 'acc');
      storeOutputs(b, g, sched);
      checkBindings(b, ctx, 'matmul');
      const k = matmulKernel({
        buffers: b.decls(), prelude: [PRELUDE, ...fns].join('\n'), batch: B, M, N, K, a, b: bb,
        epilogue: b.body(), tiling: ctx.tiling, maxPerDim: ctx.maxPerDim,
      });
      return [{ ...k, buffers: b.bufferList() }];
    }
  }
}

/**
 * Flash attention: each operand becomes a function of (batch, row, column) that reads it in
 * place (strided views, broadcast batch dims and masks are index arithmetic; dropout's uniform
 * numbers are the rand hash at the score's own index, so forward and backward agree).
 */
function lowerAttention(g: Group, b: Builder, ctx: LowerContext): Dispatch[] {
  const core = g.core!, attrs = core.attrs as AttentionAttrs;
  const ins = attentionInputs(core.op, attrs, core.inputs);
  const { L, S, E, Ev } = attentionDims(ins.q.shape, ins.k.shape, ins.v.shape);
  const batch = core.shape.slice(0, -2);
  const fns: string[] = [];
  const loader = (name: string, n: Node, type: string, wrap = (x: string) => x) => {
    const body = b.scoped(() => {
      const bd = b.dims({ flat: 'bi' }, batch), r = n.shape.length;
      // the input's leading dims are the batch's last ones; size-1 dims broadcast
      const dims = n.shape.map((d, k) => (d === 1 ? '0u' : k === r - 2 ? 'i' : k === r - 1 ? 'j' : bd[batch.length - (r - 2) + k]));
      b.emit(`return ${wrap(b.value(n, { dims }))};`);
    });
    fns.push(`fn ${name}(bi: u32, i: u32, j: u32) -> ${type} {\n${body}\n}`);
  };
  loader('kn_q', ins.q, 'f32');
  loader('kn_k', ins.k, 'f32');
  loader('kn_v', ins.v, 'f32');
  if (ins.mask) loader('kn_mask', ins.mask, attrs.mask === 'bool' ? 'bool' : 'f32');
  if (ins.rand) loader('kn_keep', ins.rand, 'f32', (r) => `select(0.0, ${f32(1 / (1 - attrs.dropoutP))}, ${r} >= ${f32(attrs.dropoutP)})`);
  if (ins.dO) loader('kn_do', ins.dO, 'f32');
  if (ins.packed) loader('kn_o', ins.packed, 'f32');
  const [R, C] = core.shape.slice(-2);
  const store = b.scoped(() => b.store(core, `(bi * ${R}u + r) * ${C}u + c`, 'value'));
  fns.push(`fn kn_store(bi: u32, r: u32, c: u32, value: f32) {\n${store}\n}`);
  checkBindings(b, ctx, 'attention');
  const block = attentionBlock(E, Ev, ctx.workgroupStorage);
  if (!block) throw new Error(`internal: attention head dims ${E} + ${Ev} do not fit in workgroup memory (the front end should have used the composite; a Kiln bug)`);
  const k = attentionKernel({
    mode: core.op === 'attention' ? 'forward' : core.op === 'attentionGradQ' ? 'gradQ' : 'gradKV',
    buffers: b.decls(), prelude: [PRELUDE, ...fns].join('\n'), batch: numel(batch), L, S, E, Ev,
    scale: attrs.scale, causal: attrs.causal, mask: attrs.mask, dropout: !!ins.rand,
    ...attentionLayout(core.op === 'attentionGradKV' ? S : L, E, Ev, !!ctx.software, ctx.maxInvocations), block, maxPerDim: ctx.maxPerDim,
  });
  return [{ ...k, buffers: b.bufferList() }];
}

/** A concat with more inputs than one kernel can bind: one kernel per chunk of inputs. */
function lowerConcat(g: Group, ctx: LowerContext): Dispatch[] {
  const n = g.outputs[0];
  const axis = n.attrs.axis;
  // chunks of inputs whose reads (an input computed inline may read several buffers) fit in
  // the binding limit next to the output
  const reads = (x: Node, acc: Set<unknown>): Set<unknown> => {
    const st = ctx.storage.get(x);
    if (st) acc.add(st.buf); else for (const i of x.inputs) reads(i, acc);
    return acc;
  };
  const chunks: Node[][] = [];
  let seen = new Set<unknown>();
  for (const inp of n.inputs) {
    const r = reads(inp, new Set());
    const merged = new Set([...seen, ...r]);
    if (chunks.length && merged.size <= ctx.maxBindings - 1) { chunks[chunks.length - 1].push(inp); seen = merged; continue; }
    if (r.size > ctx.maxBindings - 1) throw new Error(`a concat input reads ${r.size} buffers, more than the adapter's ${ctx.maxBindings} storage buffers allow`);
    chunks.push([inp]); seen = r;
  }
  const out: Dispatch[] = [];
  let off = 0;
  for (const ins of chunks) {
    const shape = n.shape.slice();
    shape[axis] = ins.reduce((s, x) => s + x.shape[axis], 0);
    const part = ins.length === 1 ? ins[0] : new Node('concat', ins, { axis }, shape, n.dtype);
    const b = new Builder(ctx);
    const d = b.dims({ flat: 'gi' }, shape);
    const v = b.value(part, { flat: 'gi' });
    const od = d.slice(); od[axis] = off ? `(${d[axis]} + ${off}u)` : d[axis];
    b.store(n, b.flat({ dims: od }, n.shape), v);
    const k = elementwiseKernel({ buffers: b.decls(), prelude: PRELUDE, size: numel(shape), body: b.body(), maxPerDim: ctx.maxPerDim });
    out.push({ ...k, buffers: b.bufferList() });
    off += shape[axis];
  }
  return out;
}
