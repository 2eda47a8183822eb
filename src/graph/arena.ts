// Arenas and byte copies: tensors moved end to end into one buffer, each becoming a view of it
// (so one fused kernel updates them all, as the optimizers do), buffers filled with a value,
// copies of a range of elements, and writes into a tensor's existing storage (loadStateDict,
// which may write into a view of an arena). The layers above call these and never encode GPU
// copies themselves. Offsets are in bytes, sizes from the dtype (dtype.ts).
import { Tensor, assign, concat } from './tensor.js';
import { shapeStr, contiguousStrides, numel, type Shape } from './ir.js';
import { node, familyOf } from './ops/index.js';
import { type DType, DTYPE_INFO, storageBytes, encode } from './dtype.js';
import { stridedView } from './views.js';
import { gpu } from '../runtime/device.js';
import { newStorage } from '../runtime/buffers.js';

/** Where a tensor's elements lie, when they lie contiguously in a realized buffer. */
interface Place { buffer: GPUBuffer; byteOffset: number }

/** Bytes of `count` elements of dtype d starting at element `start`, refused where a copy cannot start (GPU copies move whole words). */
function byteRange(d: DType, start: number, count: number): [number, number] {
  const item = DTYPE_INFO[d].itemBytes;
  const from = start * item, bytes = count * item;
  if (from % 4 || bytes % 4) throw new Error(`internal: a copy of ${count} ${d} elements from element ${start} does not start and end on a 4-byte word`);
  return [from, bytes];
}

/** The place of a realized tensor, or of a contiguous view of a realized buffer (a parameter inside an arena); null otherwise. */
function placeOf(t: Tensor): Place | null {
  const n = t.node;
  if (n.storage) return { buffer: n.storage.buf.buffer, byteOffset: n.storage.byteOffset };
  const v = stridedView(n, (m) => m.realized);
  const s = v?.base.storage;
  if (!v || !s || v.strides.join() !== contiguousStrides(n.shape).join()) return null;
  return { buffer: s.buf.buffer, byteOffset: s.byteOffset + byteRange(n.dtype, v.offset, 0)[0] };
}

/** Encodes byte copies and submits them together. */
function copyBytes(copies: { from: Place; to: Place; bytes: number }[]): void {
  const todo = copies.filter((c) => c.bytes > 0);
  if (!todo.length) return;
  const enc = gpu().createCommandEncoder();
  for (const c of todo) enc.copyBufferToBuffer(c.from.buffer, c.from.byteOffset, c.to.buffer, c.to.byteOffset, c.bytes);
  gpu().queue.submit([enc.finish()]);
}

/** A new buffer node of `shape` holding nothing yet. */
function bufferTensor(shape: Shape, dtype: DType): { t: Tensor; place: Place } {
  const n = node('buffer', [], { shape: shape.slice(), dtype });
  const s = newStorage(storageBytes(dtype, numel(shape)));
  n.setStorage(s);
  return { t: new Tensor(n), place: { buffer: s.buf.buffer, byteOffset: s.byteOffset } };
}

/** A realized flat tensor of `n` elements of dtype d, every one `value` (optimizer state). */
export function filled(n: number, value = 0, dtype: DType = 'float32'): Tensor {
  const { t, place } = bufferTensor([n], dtype);
  if (value === 0) {
    const enc = gpu().createCommandEncoder();
    enc.clearBuffer(place.buffer, 0, t.node.storage!.buf.bytes);
    gpu().queue.submit([enc.finish()]);
  } else {
    const bytes = encode(dtype, new Array<number>(n).fill(value));
    gpu().queue.writeBuffer(place.buffer, place.byteOffset, bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return t;
}

/** A realized copy of `count` elements of a realized tensor from element `start`, with the given shape (a snapshot: later writes to `src` do not change it). */
export function copyElements(src: Tensor, start: number, count: number, shape: Shape): Tensor {
  const from = src.node.storage;
  if (!from) throw new Error(`internal: copyElements of a tensor (shape ${shapeStr(src.shape)}) that is not realized`);
  if (numel(shape) !== count) throw new Error(`internal: copyElements of ${count} elements into shape ${shapeStr(shape)}`);
  const { t, place } = bufferTensor(shape, src.dtype);
  const [off, bytes] = byteRange(src.dtype, start, count);
  copyBytes([{ from: { buffer: from.buf.buffer, byteOffset: from.byteOffset + off }, to: place, bytes }]);
  return t;
}

/**
 * Tensors of one dtype moved end to end into one flat buffer; each member's handle then points
 * at a view of it, so a kernel over the flat tensor updates them all (the optimizers'
 * multi-tensor apply). Assign to `flat` to change every member, then call repoint().
 */
export class FlatArena {
  /** every member, flattened end to end */
  readonly flat: Tensor;
  /** each member's first element in `flat` */
  readonly offsets: number[] = [];
  /** elements in all */
  readonly size: number;
  /** `who` names the caller in errors (an optimizer's name) */
  constructor(readonly members: Tensor[], readonly dtype: DType, who: string) {
    let size = 0;
    for (const m of members) { this.offsets.push(size); size += m.numel(); }
    this.size = size;
    const { t, place } = bufferTensor([size], dtype);
    members.forEach((m, i) => { if (m.dtype !== dtype) throw new Error(`${who}: tensor ${i} (shape ${shapeStr(m.shape)}) is ${m.dtype}, the arena holds ${dtype}`); });
    // a member another arena holds is a view of that arena's realized buffer
    const places = members.map(placeOf);
    const originals = members.map((m) => m.node);
    if (places.every((p) => p)) {
      copyBytes(members.map((m, i) => {
        const [off, bytes] = byteRange(dtype, this.offsets[i], m.numel());
        return { from: places[i]!, to: { buffer: place.buffer, byteOffset: place.byteOffset + off }, bytes };
      }));
    } else {
      // a member still to be computed (a load recorded by loadStateDict): the arena is filled
      // in graph order, when the graph next runs
      assign(t, concat(members.map((m) => m.reshape(-1)), 0));
    }
    for (const m of members) arenaOf.set(m, this);
    this.flat = t;
    this.repoint();
    // the members' own buffers are no longer used (a member that is the whole arena, a single
    // 1-d tensor, now points at the arena itself); a pending fill still reads them
    if (places.every((p) => p)) for (const old of originals) if (old.storage && old.op === 'buffer' && old !== this.flat.node) old.releaseStorage();
  }
  /** Records new values for some members (by index) as one assign of the whole arena. */
  write(values: Map<number, Tensor>): void {
    const parts: Tensor[] = [];
    let at = 0;
    for (const i of [...values.keys()].sort((a, b) => a - b)) {
      if (this.offsets[i] > at) parts.push(this.flat.slice([at], [this.offsets[i]]));
      parts.push(values.get(i)!.cast(this.dtype).reshape(-1));
      at = this.offsets[i] + this.members[i].numel();
    }
    if (at < this.size) parts.push(this.flat.slice([at], [this.size]));
    assign(this.flat, concat(parts, 0));
    this.repoint();
  }
  /** Members become views of the current version of `flat` (after an assign to it). */
  repoint(): void {
    this.members.forEach((m, i) => {
      const old = m.node;
      const view = this.flat.slice([this.offsets[i]], [this.offsets[i] + m.numel()]).reshape(...old.shape);
      if (view.node !== old) m.setNode(view.node);
    });
  }
}

/** The arena each member belongs to (the last one made, if several optimizers took it). */
const arenaOf = new WeakMap<Tensor, FlatArena>();

/**
 * Records writes of values into tensors, in graph order (loadStateDict): a reader recorded
 * before sees the old value, one recorded after the new. A stored tensor (or a pending update
 * of one) takes an assign into its storage, so whoever holds that storage (a compiled step)
 * sees the new values; a member of an arena (a parameter an optimizer holds) is written by one
 * assign of the whole arena; a tensor still to be computed simply becomes the value.
 */
export function writeInto(pairs: [dst: Tensor, src: Tensor][]): void {
  const arenas = new Map<FlatArena, Map<number, Tensor>>();
  for (const [dst, src] of pairs) {
    if (src.shape.join() !== dst.shape.join()) throw new Error(`writeInto: source shape ${shapeStr(src.shape)} does not match destination shape ${shapeStr(dst.shape)}`);
    const arena = arenaOf.get(dst), i = arena?.members.indexOf(dst) ?? -1;
    if (arena && i >= 0) {
      if (!arenas.has(arena)) arenas.set(arena, new Map());
      arenas.get(arena)!.set(i, src);
      continue;
    }
    let base = dst.node;
    while (!base.realized && familyOf(base) === 'assign') base = base.inputs[0];
    if (base.realized) assign(dst, src.cast(dst.dtype));
    else dst.setNode(src.cast(dst.dtype).clone().node);
  }
  for (const [arena, values] of arenas) arena.write(values);
}
