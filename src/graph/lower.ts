// Lowering: turns one kernel group into WGSL. The Builder writes a kernel body: buffers
// already planned become loads, elementwise ops their WGSL expressions, views their index
// maps rendered as integer arithmetic, sources their values; a kernel op (reduction, matmul,
// row op, attention) lowers itself through its emitter (ops/*.ts). So a fused kernel reads
// each input once, at the index it needs.
import { type Node, type Shape, numel, contiguousStrides } from './ir.js';
import { type DType, DTYPE_INFO, literal, perWord } from './dtype.js';
import { ELEMENTWISE_PRELUDE } from './ops/elementwise.js';
import { RANDOM_PRELUDE } from './threefry.js';
import { opOf, familyOf, node } from './ops/index.js';
import type { IndexAlgebra, Idx, KernelBuilder, Dispatch, LowerContext } from './ops/types.js';
import type { Group, Schedule } from './schedule.js';
import { stridedView } from './views.js';
import type { Storage, SharedBuffer } from '../runtime/buffers.js';
import type { BufferDecl, ElemType } from '../shaders/common.js';
import { elementwiseKernel } from '../shaders/elementwise.js';

export type { Dispatch, LowerContext };

const wgslType = (d: DType): string => DTYPE_INFO[d].compute;
const storeType = (d: DType): ElemType => DTYPE_INFO[d].storage;
/** The element index where a storage starts (its byte offset in elements of dtype d). */
const elementOffset = (s: Storage, d: DType): number => s.byteOffset / DTYPE_INFO[d].itemBytes;

/** The helper functions kernels may call, by name; a kernel gets those it calls (helpers). */
const HELPERS = new Map([...`${ELEMENTWISE_PRELUDE}${RANDOM_PRELUDE}`.matchAll(/^fn (kn_\w+)\(.*}$|^fn (kn_\w+)\([^]*?\n}$/gm)].map((m) => [m[1] ?? m[2], m[0]]));
/** Where a kernel's helper functions go (emitters place the prelude; helpers() fills it in). */
const PRELUDE = '// kn:helpers';

/** The kernel with the helpers it calls (and those they call) in place of PRELUDE. */
function helpers(wgsl: string): string {
  const used = new Set<string>(), todo = [wgsl];
  while (todo.length) {
    for (const m of todo.pop()!.matchAll(/\b(kn_\w+)\(/g)) {
      const code = HELPERS.get(m[1]);
      if (code && !used.has(m[1])) { used.add(m[1]); todo.push(code.slice(code.indexOf('{'))); }
    }
  }
  return wgsl.replace(PRELUDE, [...HELPERS].filter(([name]) => used.has(name)).map(([, code]) => code).join('\n'));
}

class Builder implements KernelBuilder {
  private blocks: string[][] = [[]];
  private memos: Map<string, string>[] = [new Map()];
  private tmp = 0;
  registers = new Map<Node, string>();
  ownFlat = 'gi';
  readonly prelude = PRELUDE;
  /** bindings in order: binding i is named buf{i}; a buffer may appear twice (scalar and vec4 views) */
  private slots: [SharedBuffer, BufferDecl][] = [];
  private scalar = new Map<SharedBuffer, BufferDecl>();
  private vector = new Map<SharedBuffer, BufferDecl[]>();

  constructor(private ctx: LowerContext, private group?: Group, private sched?: Schedule) {}

  emit(line: string): void { this.blocks[this.blocks.length - 1].push(line); }
  // `i` + 32 would be `i32`, a WGSL type: the underscore keeps names apart from builtins
  fresh(p = 'v'): string { return `${p}_${this.tmp++}`; }
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
  /** A `let` for expression e (reused when the same expression is asked for again in scope). */
  private bind(prefix: string, e: string): string {
    const k = `${prefix}|${e}`;
    const hit = this.memoGet(k); if (hit) return hit;
    const v = this.fresh(prefix); this.emit(`let ${v} = ${e};`); this.memoSet(k, v);
    return v;
  }

  buffer(s: Storage, d: DType, writable: boolean): string {
    let b = this.scalar.get(s.buf);
    const type = storeType(d);
    if (!b) { b = { name: `buf${this.slots.length}`, type, writable }; this.scalar.set(s.buf, b); this.slots.push([s.buf, b]); }
    if (b.type !== type) throw new Error(`internal: buffer read as ${b.type} and ${type} in one kernel (a Kiln bug)`);
    if (writable && this.vector.has(s.buf)) throw new Error('internal: a buffer read as vec4 is written in the same kernel (a Kiln bug)');
    b.writable ||= writable;
    return b.name;
  }
  buffer4(s: Storage, type: ElemType = 'vec4<f32>'): string {
    const all = this.vector.get(s.buf) ?? [];
    let b = all.find((d) => d.type === type);
    if (!b) { b = { name: `buf${this.slots.length}`, type, writable: false }; this.vector.set(s.buf, [...all, b]); this.slots.push([s.buf, b]); }
    return b.name;
  }

  flat(idx: Idx, shape: Shape): string {
    if (idx.flat !== undefined) return idx.flat;
    const st = contiguousStrides(shape);
    const terms = idx.dims!.map((d, i) => (shape[i] === 1 ? '' : st[i] === 1 ? d : `${d} * ${st[i]}u`)).filter(Boolean);
    return terms.length ? this.bind('f', terms.join(' + ')) : '0u';
  }
  dims(idx: Idx, shape: Shape): string[] {
    if (idx.dims) return idx.dims;
    const st = contiguousStrides(shape);
    return shape.map((d, i) => {
      if (d === 1) return '0u';
      return this.bind('i', i === 0 ? `${idx.flat} / ${st[i]}u` : st[i] === 1 ? `${idx.flat} % ${d}u` : `(${idx.flat} / ${st[i]}u) % ${d}u`);
    });
  }

  value(n: Node, idx: Idx): string {
    const reg = this.registers.get(n);
    if (reg !== undefined && idx.flat === this.ownFlat) return reg;
    const s = this.ctx.storage.get(n);
    if (s) {
      const k = `${n.id}|${this.flat(idx, n.shape)}`;
      const hit = this.memoGet(k); if (hit) return hit;
      const off = elementOffset(s, n.dtype), per = perWord(n.dtype), info = DTYPE_INFO[n.dtype];
      const e = `${off ? `${off}u + ` : ''}${this.flat(idx, n.shape)}`, buf = this.buffer(s, n.dtype, false);
      const v = this.fresh('l');
      if (per === 1) this.emit(`let ${v} = ${buf}[${e}];`);
      else {
        // a packed element: its bits within the word that holds it
        const ei = this.bind('e', e);
        this.emit(`let ${v} = ${info.unpack!(`${buf}[${ei} / ${per}u]`, `(${ei} % ${per}u)`)};`);
      }
      this.memoSet(k, v);
      return v;
    }
    return this.compute(n, idx);
  }

  /** The value of n at idx computed inline from its inputs. */
  compute(n: Node, idx: Idx): string {
    const key = `${n.id}|c|${idx.flat ?? idx.dims!.join(',')}`;
    const hit = this.memoGet(key); if (hit) return hit;
    const r = this.inline(n, idx);
    this.memoSet(key, r);
    return r;
  }

  private inline(n: Node, idx: Idx): string {
    const def = opOf(n);
    switch (def.family) {
      case 'assign': return this.value(n.inputs[1], idx);
      case 'source': return def.inline(this, n, idx);
      case 'elementwise': {
        const args = n.inputs.map((i) => this.value(i, idx));
        // each op's result is a value of its dtype (float16 rounds, int8 wraps), as PyTorch's are
        const norm = DTYPE_INFO[n.dtype].normalize, e = def.wgsl(args, n.attrs, wgslType(n.dtype), wgslType(n.inputs[0].dtype));
        const v = this.fresh();
        this.emit(`let ${v} = ${norm ? `${norm}(${e})` : e};`);
        return v;
      }
      case 'view': {
        if (def.flatIdentity && idx.flat !== undefined) return this.value(n.inputs[0], idx);
        const out = this.dims(idx, n.shape);
        const sources = def.source(this.algebra(n), out, n);
        // the first valid source gives the value; an index is clamped to 0 where its source is
        // not valid, so no load reads out of bounds (an output dim no longer than the input's
        // is in range already)
        const inRange = (x: string, extent: number) => x === '0u' || out.some((o, k) => o === x && n.shape[k] <= extent);
        let e = literal(def.padValue?.(n.attrs) ?? 0, n.dtype);
        for (let k = sources.length - 1; k >= 0; k--) {
          const { input, index, valid } = sources[k];
          const ok = valid && this.bind('ok', valid), inShape = n.inputs[input].shape;
          const dims = ok ? index.map((x, d) => (inRange(x, inShape[d]) ? x : `select(0u, ${x}, ${ok})`)) : index;
          const v = this.value(n.inputs[input], { dims });
          e = ok ? `select(${e}, ${v}, ${ok})` : v;
        }
        return sources.length === 1 && !sources[0].valid ? e : this.bind('v', e);
      }
    }
    throw new Error(`internal: cannot inline op ${n.op} (family ${def.family}) (a Kiln bug)`);
  }

  /** Index arithmetic rendered as u32 WGSL expressions (index maps of views). */
  private algebra(n: Node): IndexAlgebra<string> {
    const u = (x: string | number) => (typeof x === 'number' ? `${x >>> 0}u` : x);
    const isZero = (x: string | number) => x === 0 || x === '0u';
    return {
      c: (v) => u(v),
      add: (a, b) => (isZero(b) ? a : isZero(a) ? u(b) : `(${a} + ${u(b)})`),
      sub: (a, b) => (isZero(b) ? a : `(${a} - ${u(b)})`),
      mul: (a, b) => (b === 1 ? a : isZero(b) || isZero(a) ? '0u' : `${a} * ${u(b)}`),
      div: (a, b) => (b === 1 ? a : `(${a} / ${u(b)})`),
      mod: (a, b) => (b === 1 ? '0u' : `(${a} % ${u(b)})`),
      lt: (a, b) => `(${a} < ${u(b)})`,
      ge: (a, b) => `(${a} >= ${u(b)})`,
      eq: (a, b) => `(${a} == ${u(b)})`,
      // `&`, never `&&`: short-circuits become branches, and SwiftShader's compile time grows
      // exponentially with the branches in an unrolled matmul loop
      and: (...cs) => (cs.length ? cs.join(' & ') : 'true'),
      ravel: (dims, shape) => this.flat({ dims }, shape),
      unravel: (flat, shape) => this.dims({ flat }, shape),
      read: (input, dims, hi) => `u32(clamp(${this.value(n.inputs[input], { dims })}, 0i, ${hi}i))`,
    };
  }

  store(n: Node, flat: string, v: string): void {
    if (perWord(n.dtype) > 1) throw new Error(`internal: a ${n.dtype} value (packed) stored one element at a time (a Kiln bug)`);
    const s = this.ctx.storage.get(n)!;
    const b = this.buffer(s, n.dtype, true);
    const off = elementOffset(s, n.dtype);
    // an elementwise result is already a value of its dtype; a core's is rounded here
    const norm = familyOf(n) === 'elementwise' ? undefined : DTYPE_INFO[n.dtype].normalize;
    this.emit(`${b}[${off ? `${off}u + ` : ''}${flat}] = ${norm ? `${norm}(${v})` : v};`);
  }

  /** Computes output o at the kernel's own index, keeping the value in a register for later outputs. */
  private computeOutput(o: Node): string {
    const v = this.compute(o, { flat: this.ownFlat });
    this.registers.set(o, v);
    for (const [alias, base] of this.sched!.writesInto) if (familyOf(alias) === 'assign' && alias.inputs[1] === o && base === this.sched!.writesInto.get(o)) this.registers.set(alias, v);
    return v;
  }

  storeOutputs(): void {
    const g = this.group!;
    for (const o of g.outputs) {
      if (o === g.core) this.store(o, this.ownFlat, this.registers.get(o)!);
      else this.store(o, this.ownFlat, this.computeOutput(o));
    }
  }

  /**
   * The body of an elementwise kernel with packed outputs (several per 32-bit word): invocation
   * `gi` owns word gi of the most packed output, so no two invocations write one word. It
   * computes every output at each of its `per` elements (lanes) and stores whole words.
   */
  storePackedOutputs(per: number, size: number): void {
    const g = this.group!;
    const words = new Map<Node, string[]>();
    for (const o of g.outputs) {
      const p = perWord(o.dtype);
      if (p === 1) continue;
      words.set(o, Array.from({ length: per / p }, () => { const w = this.fresh('w'); this.emit(`var ${w} = 0u;`); return w; }));
    }
    for (let lane = 0; lane < per; lane++) {
      const at = `gi * ${per}u + ${lane}u`;
      const block = this.scoped(() => {
        // a lane past the end recomputes the last element: its bits land in the padding
        this.ownFlat = this.fresh('e');
        this.emit(`let ${this.ownFlat} = min(${at}, ${size - 1}u);`);
        this.registers.clear();
        for (const o of g.outputs) {
          const v = this.computeOutput(o), p = perWord(o.dtype);
          if (p === 1) { this.emit(`if (${at} < ${size}u) {`); this.store(o, this.ownFlat, v); this.emit('}'); continue; }
          const w = words.get(o)![Math.floor(lane / p)], bits = 32 / p;
          this.emit(`${w} = ${w} | (${DTYPE_INFO[o.dtype].pack!(v)} << ${(lane % p) * bits}u);`);
        }
      });
      this.emit(`{\n${block}\n  }`);
    }
    this.registers.clear();
    for (const [o, ws] of words) {
      const s = this.ctx.storage.get(o)!, p = perWord(o.dtype);
      if (s.byteOffset % 4) throw new Error(`internal: packed ${o.dtype} storage at byte ${s.byteOffset}, not a word boundary (a Kiln bug)`);
      const buf = this.buffer(s, o.dtype, true), base = s.byteOffset / 4, count = Math.ceil(size / p);
      ws.forEach((w, j) => {
        const wi = `gi * ${per / p}u + ${j}u`;
        this.emit(`if (${wi} < ${count}u) { ${buf}[${base ? `${base}u + ` : ''}${wi}] = ${w}; }`);
      });
    }
  }

  stridedOperand(n: Node) {
    const v = stridedView(n, (x) => this.ctx.storage.has(x));
    // packed float16 is read in place (the matmul unpacks its words); the byte dtypes through
    // their load function, which unpacks them
    const per = v && perWord(v.base.dtype);
    if (!v || (per! > 1 && v.base.dtype !== 'float16')) return null;
    const s = this.ctx.storage.get(v.base)!;
    const layout = { offset: elementOffset(s, v.base.dtype) + v.offset, sb: v.strides[0], s0: v.strides[1], s1: v.strides[2] };
    return { storage: s, dtype: v.base.dtype, layout: per === 2 ? { ...layout, packed: 2 as const } : layout };
  }
  writes(s: Storage): boolean { return !!this.group?.outputs.some((o) => this.ctx.storage.get(o)?.buf === s.buf); }

  checkBindings(what: string): void {
    if (this.slots.length > this.ctx.maxBindings) {
      throw new Error(`a fused ${what} kernel needs ${this.slots.length} storage buffers but the adapter allows ${this.ctx.maxBindings} (maxStorageBuffersPerShaderStage); this graph is not supported yet on this adapter`);
    }
  }

  body(): string { return this.blocks[0].map((l) => `  ${l}`).join('\n'); }
  decls(): BufferDecl[] { return this.slots.map(([, d]) => d); }
  bufferList(): SharedBuffer[] { return this.slots.map(([b]) => b); }
}

export function lowerGroup(g: Group, sched: Schedule, ctx: LowerContext): Dispatch[] {
  return lowerKernels(g, sched, ctx).map((d) => ({ ...d, wgsl: helpers(d.wgsl) }));
}

function lowerKernels(g: Group, sched: Schedule, ctx: LowerContext): Dispatch[] {
  const b = new Builder(ctx, g, sched);
  if (g.kind === 'concat') return lowerConcat(g, ctx);
  if (g.kind === 'elementwise') {
    const size = numel(g.outputs[g.outputs.length - 1].shape), per = Math.max(...g.outputs.map((o) => perWord(o.dtype)));
    if (per === 1) b.storeOutputs(); else b.storePackedOutputs(per, size);
    b.checkBindings('elementwise');
    const k = elementwiseKernel({ buffers: b.decls(), prelude: PRELUDE, size: Math.ceil(size / per), body: b.body(), maxPerDim: ctx.maxPerDim });
    return [{ ...k, buffers: b.bufferList() }];
  }
  const def = opOf(g.core!);
  if (!('lower' in def)) throw new Error(`internal: op ${g.core!.op} has no kernel of its own (a Kiln bug)`);
  return [{ ...def.lower(b, g.core!, ctx), buffers: b.bufferList() }];
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
    const part = ins.length === 1 ? ins[0] : node('concat', ins, { axis });
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
