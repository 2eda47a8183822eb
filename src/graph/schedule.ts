// Fusion as a graph transform: partitions the unrealized part of a graph into kernel groups.
// Elementwise chains and broadcasts fuse into one kernel; elementwise producers of a
// reduction, softmax or matmul-free row op become its prologue; elementwise consumers of a
// matmul or reduction become its epilogue; same-sized elementwise kernels that feed each
// other merge into one multi-output kernel (an optimizer's update of params and state).
import { Node, numel, topoSort } from './ir.js';
import { opOf, familyOf as family } from './ops/index.js';
import { stridedView, isStridedViewOp } from './views.js';
import { perWord } from './dtype.js';
import { state } from './state.js';
import { rewriteAttention } from './patterns.js';

export type GroupKind = 'elementwise' | 'reduce' | 'matmul' | 'rows' | 'attention' | 'concat';

export class Group {
  /** nodes this kernel stores, in the order they are computed */
  outputs: Node[] = [];
  /** materialized nodes it reads -> whether every read is at the output's own index */
  loads = new Map<Node, boolean>();
  deps = new Set<Group>();
  constructor(public kind: GroupKind, public core?: Node) {}
}

export interface Schedule {
  groups: Group[];
  /** materialized nodes and the group that writes each */
  writer: Map<Node, Group>;
  /** assign nodes (and values placed into an assign's storage) -> the realized node whose storage they write */
  writesInto: Map<Node, Node>;
  /** parts computed straight into a concat's buffer -> [that concat, element offset]; such a concat has no kernel */
  placedIn: Map<Node, [Node, number]>;
  targets: Set<Node>;
}

const isAssign = (n: Node) => family(n) === 'assign';
/** Several elements per word: only an elementwise kernel writing whole words may store it. */
const packed = (n: Node) => perWord(n.dtype) > 1;
/** The axis a concat lays its inputs along, or undefined for any other op. */
const concatAxis = (n: Node): number | undefined => { const d = opOf(n); return d.family === 'view' ? d.concatAxis?.(n.attrs) : undefined; };
/** A concat with more inputs than a kernel should bind: chunked copy kernels (lowerConcat). The
 * front end splits a packed one into narrower concats, since those kernels store per element. */
const wideConcat = (n: Node, maxBindings: number) => concatAxis(n) !== undefined && n.inputs.length > maxBindings / 2 && !packed(n);
/** A view whose flat index is its input's (reshape): read at the output's own index. */
const isIdentityView = (n: Node) => { const d = opOf(n); return d.family === 'view' && !!d.flatIdentity; };

/** The realized node an assign (or a chain of assigns) finally writes into. */
export function assignBase(n: Node): Node {
  let b = n.inputs[0];
  while (!b.realized && isAssign(b)) b = b.inputs[0];
  if (!b.realized) throw new Error('assign: the target must be a realized tensor (a parameter or buffer)');
  return b;
}

export function schedule(targetList: Node[], maxBindings: number): Schedule {
  if (state.fusion) rewriteAttention(targetList);
  const targets = new Set(targetList);
  const order = topoSort(targetList).filter((n) => !n.realized);
  for (const n of topoSort(targetList)) {
    if (n.overwritten) throw new Error('a tensor depends on a value that an in-place update (an optimizer step) has since overwritten; compute it (or call backward) before the step');
  }
  const consumers = new Map<Node, number>();
  for (const n of order) for (const i of new Set(n.inputs)) consumers.set(i, (consumers.get(i) ?? 0) + 1);

  // ---- which nodes get a buffer
  const mat = new Set<Node>();
  for (const n of order) {
    const f = family(n);
    if (targets.has(n) || f === 'reduce' || f === 'matmul' || f === 'rows' || f === 'attention' || f === 'assign') mat.add(n);
    else if (f === 'elementwise' && ((consumers.get(n) ?? 0) > 1 || !state.fusion)) mat.add(n);
    else if (wideConcat(n, maxBindings)) mat.add(n);
    else if (f === 'view' && concatAxis(n) === undefined && (consumers.get(n) ?? 0) > 1 && !isCheapView(n)) mat.add(n);
  }
  // matmul operands are read in place: strided views of buffers, or index arithmetic over
  // buffers (sliding windows, padding) read through a load function; anything else gets a buffer
  const isBuf = (x: Node) => x.realized || mat.has(x);
  // (attention reads its operands the same way; its dropout's uniform numbers are computed in place)
  for (const n of order) {
    if (family(n) !== 'matmul' && family(n) !== 'attention') continue;
    for (const operand of n.inputs) {
      if (family(n) === 'attention' && family(operand) === 'source') continue; // dropout's numbers: computed in the kernel
      let base = operand;
      while (!isBuf(base) && family(base) === 'view' && base.inputs.length === 1) base = base.inputs[0];
      if (!base.realized && family(base) !== 'view') mat.add(base);
      const gather = gatherIn(operand, isBuf);
      if (gather) mat.add(gather); // copied once: the views above it (a batch expand) stay strided
      if (!stridedView(operand, isBuf) && !pureView(operand, isBuf)) mat.add(operand);
    }
  }

  splitWideExpressions(order, mat, maxBindings);

  // ---- placement: an assign whose value already gets a buffer writes it straight into the target
  const writesInto = new Map<Node, Node>();
  const placedValue = new Map<Node, Node>(); // assign -> value computed in place
  for (const n of order) {
    if (!isAssign(n)) continue;
    const base = assignBase(n);
    writesInto.set(n, base);
    const v = n.inputs[1];
    if (mat.has(v) && !v.realized && !targets.has(v) && !writesInto.has(v) && family(v) !== 'view') {
      writesInto.set(v, base);
      placedValue.set(n, v);
    }
  }

  // ---- placement: the parts of a contiguous concat (the gradients an optimizer updates as one
  // flat arena) are written straight into its buffer, and the concat copies nothing
  const placedIn = new Map<Node, [Node, number]>();
  const concatParts = new Map<Node, Node[]>();
  for (const c of order) {
    const axis = concatAxis(c);
    if (axis === undefined || !mat.has(c) || writesInto.has(c) || c.shape.slice(0, axis).some((d) => d !== 1)) continue;
    const parts: Node[] = [];
    for (const inp of c.inputs) {
      let m = inp;
      while (isIdentityView(m) && !mat.has(m) && consumers.get(m) === 1) m = m.inputs[0];
      const own = mat.has(m) && !m.realized && !targets.has(m) && !writesInto.has(m) && !placedIn.has(m) && family(m) !== 'view' && family(m) !== 'assign' && !packed(m);
      if (!own || consumers.get(m) !== 1 || parts.includes(m)) break;
      parts.push(m);
    }
    if (parts.length !== c.inputs.length) continue;
    let off = 0;
    parts.forEach((m) => { placedIn.set(m, [c, off]); off += numel(m.shape); });
    concatParts.set(c, parts);
  }

  // ---- one group per materialized node
  const groups: Group[] = [];
  const writer = new Map<Node, Group>();
  const aliases = new Map<Group, Node[]>(); // assigns written through their placed value's group
  for (const n of order) {
    if (!mat.has(n)) continue;
    const pv = placedValue.get(n);
    if (pv) { const w = writer.get(pv)!; writer.set(n, w); aliases.get(w)!.push(n); continue; }
    if (concatParts.has(n)) continue; // its parts write its buffer
    const f = family(n);
    const kind: GroupKind = wideConcat(n, maxBindings) ? 'concat'
      : f === 'reduce' || f === 'matmul' || f === 'rows' || f === 'attention' ? f : 'elementwise';
    const g = new Group(kind, kind === 'elementwise' || kind === 'concat' ? undefined : n);
    g.outputs.push(n);
    groups.push(g);
    writer.set(n, g);
    aliases.set(g, []);
  }
  const isLoad = (x: Node) => x.realized || mat.has(x);
  for (const g of groups) collectLoads(g, isLoad);
  // the assigns that overwrite each version
  const overwrites = new Map<Node, Node[]>();
  for (const n of writesInto.keys()) if (isAssign(n)) push(overwrites, n.inputs[0], n);

  // Dependencies, kept up to date through merges: `deps` (run before) and `users` (run after),
  // `readers` (the groups loading each node), and `rank`, a topological order of the groups
  // that bounds every reachability search.
  const readers = new Map<Node, Set<Group>>();
  const users = new Map<Group, Set<Group>>();
  const rank = new Map<Group, number>();
  const removed = new Set<Group>();
  const addReaders = (g: Group) => { for (const l of g.loads.keys()) { let r = readers.get(l); if (!r) readers.set(l, r = new Set()); r.add(g); } };
  const depsOf = (g: Group): Set<Group> => {
    const d = new Set<Group>();
    for (const l of g.loads.keys()) {
      for (const x of concatParts.get(l) ?? [l]) { const w = writer.get(x); if (w && w !== g) d.add(w); }
    }
    // write-after-read: whoever reads the version an assign overwrites runs before the write
    for (const n of [...g.outputs, ...aliases.get(g)!]) {
      if (!isAssign(n)) continue;
      for (const r of readers.get(n.inputs[0]) ?? []) if (r !== g) d.add(r);
    }
    return d;
  };
  const setDeps = (g: Group, d: Set<Group>) => {
    for (const x of g.deps) users.get(x)?.delete(g);
    g.deps = d;
    for (const x of d) users.get(x)!.add(g);
  };
  for (const g of groups) { users.set(g, new Set()); addReaders(g); }
  for (const g of groups) setDeps(g, depsOf(g));
  // ranked by depth (the longest chain of deps below), so a group ranks just above its deps
  // and a search bounded by rank stays near them, wherever the group stands in the list
  const depth = new Map<Group, number>();
  for (const g of orderGroups(groups)) depth.set(g, Math.max(-1, ...[...g.deps].map((d) => depth.get(d)!)) + 1);
  groups.map((g, i) => ({ g, i, d: depth.get(g)! })).sort((a, b) => a.d - b.d || a.i - b.i).forEach(({ g }, r) => rank.set(g, r));

  /**
   * Merging producer p into its consumer c is illegal iff a path p -> x -> c runs through a
   * group x outside both (the merged kernel would run before and after x). Only groups ranked
   * below c can be on such a path. Returns undefined for a path, else the groups reached from
   * p below c's rank, which the merge reorders.
   */
  const pathAround = (p: Group, c: Group): Set<Group> | undefined => {
    const bound = rank.get(c)!;
    const seen = new Set<Group>();
    const stack = [...users.get(p)!].filter((u) => u !== c);
    while (stack.length) {
      const x = stack.pop()!;
      if (x === c) return undefined;
      if (seen.has(x) || rank.get(x)! > bound) continue;
      seen.add(x);
      for (const u of users.get(x)!) stack.push(u);
    }
    return seen;
  };
  /**
   * After `gone`'s outputs moved into `kept` (one of them produced the other): its aliases,
   * loads and edges follow, and the ranks are repaired as in Pearce and Kelly's dynamic
   * topological order: the merged group takes the consumer's rank, then its ancestors ranked
   * above the lowest of `below` (what pathAround found) are moved before `below`.
   */
  const absorb = (kept: Group, gone: Group, below: Set<Group>) => {
    removed.add(gone);
    for (const n of aliases.get(gone)!) { writer.set(n, kept); aliases.get(kept)!.push(n); }
    for (const g of [kept, gone]) for (const l of g.loads.keys()) readers.get(l)?.delete(g);
    kept.loads.clear();
    collectLoads(kept, isLoad);
    addReaders(kept);
    const touched = new Set<Group>([kept, ...users.get(kept)!, ...users.get(gone)!]);
    for (const l of kept.loads.keys()) for (const n of overwrites.get(l) ?? []) touched.add(writer.get(n)!);
    touched.delete(gone);
    setDeps(gone, new Set());
    users.delete(gone);
    for (const g of touched) setDeps(g, depsOf(g));
    rank.set(kept, Math.max(rank.get(kept)!, rank.get(gone)!));
    rank.delete(gone);
    if (!below.size) return;
    const low = Math.min(...[...below].map((g) => rank.get(g)!));
    const before = new Set<Group>();
    const stack = [kept];
    while (stack.length) {
      const x = stack.pop()!;
      if (before.has(x) || rank.get(x)! < low) continue;
      before.add(x);
      stack.push(...x.deps);
    }
    const byRank = (a: Group, b: Group) => rank.get(a)! - rank.get(b)!;
    const moved = [...[...before].sort(byRank), ...[...below].sort(byRank)];
    const slots = moved.map((g) => rank.get(g)!).sort((a, b) => a - b);
    moved.forEach((g, i) => rank.set(g, slots[i]));
  };
  const inPlaceSafe = (a: Group, b: Group): boolean => {
    // after a merge, a buffer written by the kernel may only be read at the same index
    const loads = new Map(a.loads);
    for (const [k, v] of b.loads) loads.set(k, (loads.get(k) ?? true) && v);
    for (const o of [...a.outputs, ...b.outputs]) {
      const base = writesInto.get(o);
      if (!base) continue;
      for (const [l, identity] of loads) if (!identity && (l === base || (writesInto.get(l) === base))) return false;
    }
    return true;
  };
  // buffers a merged kernel would bind: each stored node's buffer and each buffer it reads
  const bufferKey = (n: Node): unknown => (n.realized ? n.storage!.buf : writesInto.get(n)?.storage?.buf ?? n);
  const fitsBindings = (a: Group, b: Group): boolean => {
    const keys = new Set<unknown>();
    for (const g of [a, b]) {
      for (const l of g.loads.keys()) if (!a.outputs.includes(l) && !b.outputs.includes(l)) keys.add(bufferKey(l));
      for (const o of g.outputs) keys.add(bufferKey(o));
    }
    return keys.size <= maxBindings;
  };
  const finish = (): Schedule => {
    const live = groups.filter((g) => !removed.has(g));
    // deps afresh, in the order the kernels' loads list them: the kernel order depends on it
    const readersInOrder = new Map<Node, Group[]>();
    for (const g of live) for (const l of g.loads.keys()) push(readersInOrder, l, g);
    for (const g of live) {
      g.deps = new Set();
      for (const l of g.loads.keys()) {
        for (const x of concatParts.get(l) ?? [l]) { const w = writer.get(x); if (w && w !== g) g.deps.add(w); }
      }
    }
    for (const n of writesInto.keys()) {
      if (!isAssign(n)) continue;
      const w = writer.get(n)!;
      for (const g of readersInOrder.get(n.inputs[0]) ?? []) if (g !== w) w.deps.add(g);
    }
    return { groups: orderGroups(live), writer, writesInto, placedIn, targets };
  };

  if (!state.fusion) return finish();

  // ---- epilogues: an elementwise kernel that reads a lone matmul/reduction result at its own index
  for (const g of groups.slice()) {
    if (g.kind !== 'elementwise' || g.outputs.length !== 1) continue;
    for (const [l, identity] of g.loads) {
      const c = writer.get(l);
      if (!identity || !c || (c.kind !== 'matmul' && c.kind !== 'reduce') || c.outputs.length !== 1 || c.outputs[0] !== l) continue;
      if (targets.has(l) || consumers.get(l) !== 1 || numel(l.shape) !== numel(g.outputs[0].shape) || g.outputs.some(packed)) continue;
      if (!inPlaceSafe(c, g) || !fitsBindings(c, g)) continue;
      const below = pathAround(c, g);
      if (!below) continue;
      // the core value now lives in a register
      mat.delete(l);
      writer.delete(l);
      c.outputs = g.outputs.slice();
      for (const o of g.outputs) writer.set(o, c);
      absorb(c, g, below);
      break;
    }
  }

  // ---- sibling fusion: same-sized elementwise kernels feeding each other become one.
  // Groups are tried in list order and each merges with the first legal producer among its
  // loads, as a rescan from the start after every merge would: a merge only makes new merges
  // legal for the merged group and for its users (paths between other groups only grow), so
  // those are queued again and the rest keep their verdict.
  const pos = new Map(groups.map((g, i) => [g, i]));
  const queue = new MinQueue<Group>((g) => pos.get(g)!);
  for (const g of groups) if (g.kind === 'elementwise') queue.push(g);
  for (let g = queue.pop(); g; g = queue.pop()) {
    if (removed.has(g)) continue;
    const size = numel(g.outputs[0].shape);
    for (const [l, identity] of g.loads) {
      const p = writer.get(l);
      if (!identity || !p || p === g || p.kind !== 'elementwise' || numel(p.outputs[0].shape) !== size) continue;
      if (!inPlaceSafe(p, g) || !fitsBindings(p, g)) continue;
      const below = pathAround(p, g);
      if (!below) continue;
      for (const o of p.outputs) writer.set(o, g);
      g.outputs = [...p.outputs, ...g.outputs];
      absorb(g, p, below);
      queue.push(g);
      for (const u of users.get(g)!) if (u.kind === 'elementwise') queue.push(u);
      break;
    }
  }

  return finish();
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v); else m.set(k, [v]);
}

/** A binary heap of distinct items by a numeric key; pushing a queued item again does nothing. */
class MinQueue<T> {
  private heap: T[] = [];
  private queued = new Set<T>();
  constructor(private key: (x: T) => number) {}
  push(x: T): void {
    if (this.queued.has(x)) return;
    this.queued.add(x);
    const h = this.heap;
    let i = h.push(x) - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (this.key(h[up]) <= this.key(h[i])) break;
      [h[up], h[i]] = [h[i], h[up]];
      i = up;
    }
  }
  pop(): T | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0], last = h.pop()!;
    if (h.length) {
      h[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && this.key(h[l]) < this.key(h[m])) m = l;
        if (r < h.length && this.key(h[r]) < this.key(h[m])) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    this.queued.delete(top);
    return top;
  }
}

/**
 * A kernel binds at most maxBindings buffers (DESIGN.md section 4): when the inline
 * expression under a materialized node reads more, its widest inline input is given a buffer
 * of its own (or, if that input is itself too wide, split further down), until every kernel fits.
 */
function splitWideExpressions(order: Node[], mat: Set<Node>, maxBindings: number): void {
  const key = (n: Node): unknown => (n.realized ? n.storage!.buf : n);
  const reads = (n: Node, memo: Map<Node, Set<unknown>>): Set<unknown> => {
    let r = memo.get(n);
    if (r) return r;
    r = new Set();
    if (n.realized || mat.has(n)) r.add(key(n));
    else for (const i of isAssign(n) ? [n.inputs[1]] : n.inputs) for (const k of reads(i, memo)) r.add(k);
    memo.set(n, r);
    return r;
  };
  // what the kernel rooted at m reads: its inline inputs (a core's operands count as reads)
  const rootReads = (m: Node, memo: Map<Node, Set<unknown>>): Set<unknown> => {
    const r = new Set<unknown>();
    for (const i of isAssign(m) ? [m.inputs[1]] : m.inputs) for (const k of reads(i, memo)) r.add(k);
    return r;
  };
  const limit = maxBindings - 1; // one binding for the output
  for (const m of order) {
    // a wide concat is lowered as chunked copy kernels (lowerConcat), each within the limit
    if (!mat.has(m) || m.realized || wideConcat(m, maxBindings)) continue;
    for (let guard = 0; guard < 64; guard++) {
      const memo = new Map<Node, Set<unknown>>();
      if (rootReads(m, memo).size <= limit) break;
      // descend through the widest inline input until one fits in a kernel of its own
      let n = m;
      for (;;) {
        const ins = (isAssign(n) ? [n.inputs[1]] : n.inputs).filter((i) => !i.realized && !mat.has(i));
        if (!ins.length) throw new Error(`a kernel needs more than the adapter's ${maxBindings} storage buffers and cannot be split`);
        const widest = ins.reduce((a, b) => (reads(a, memo).size >= reads(b, memo).size ? a : b));
        if (rootReads(widest, memo).size <= limit) { mat.add(widest); break; }
        n = widest;
      }
    }
  }
}

/** Index arithmetic over buffers only (no arithmetic on values): cheap to read in a matmul's inner loop. */
function pureView(n: Node, isBuf: (n: Node) => boolean): boolean {
  if (isBuf(n)) return true;
  return family(n) === 'view' && n.inputs.every((i) => pureView(i, isBuf));
}

/** Views that are free to recompute in every consumer. */
/** The gather in a matmul operand's view chain, if any: every row or column would re-read its index buffer. */
function gatherIn(n: Node, isBuf: (x: Node) => boolean): Node | undefined {
  for (let x = n; !isBuf(x) && family(x) === 'view'; x = x.inputs[0]) { const d = opOf(x); if (d.family === 'view' && d.readsIndex) return x; }
  return undefined;
}

function isCheapView(n: Node): boolean {
  let x = n;
  while (!x.realized && isStridedViewOp(x)) x = x.inputs[0];
  return x.realized || family(x) === 'source';
}

/** Walks a group's inline expressions and records every buffer read and whether it is at the output index. */
function collectLoads(g: Group, isLoad: (n: Node) => boolean): void {
  const done = new Set<Node>(); // outputs already computed: registers when read at the output index
  const record = (n: Node, identity: boolean) => g.loads.set(n, (g.loads.get(n) ?? true) && identity);
  const visit = (n: Node, identity: boolean): void => {
    if (n === g.core && !g.outputs.includes(n)) return; // the epilogue's register
    if (done.has(n)) { if (!identity) record(n, false); return; }
    if (isLoad(n)) { record(n, identity); return; }
    inline(n, identity);
  };
  const inline = (n: Node, identity: boolean): void => {
    const f = family(n);
    if (f === 'assign') visit(n.inputs[1], identity);
    else if (f === 'elementwise') n.inputs.forEach((i) => visit(i, identity));
    else if (isIdentityView(n)) visit(n.inputs[0], identity);
    else n.inputs.forEach((i) => visit(i, false)); // other views, sources, a core's operands
  };
  if (g.core) g.core.inputs.forEach((i) => visit(i, false));
  for (const o of g.outputs) {
    if (o !== g.core) {
      if (g.kind === 'concat') o.inputs.forEach((i) => visit(i, false));
      else inline(o, true);
    }
    done.add(o);
  }
}

function orderGroups(groups: Group[]): Group[] {
  const out: Group[] = [];
  const state = new Map<Group, number>();
  const visit = (g: Group) => {
    const s = state.get(g);
    if (s === 2) return;
    if (s === 1) throw new Error('internal: kernel dependency cycle (a Kiln bug)');
    state.set(g, 1);
    for (const d of g.deps) visit(d);
    state.set(g, 2);
    out.push(g);
  };
  for (const g of groups) visit(g);
  return out;
}
