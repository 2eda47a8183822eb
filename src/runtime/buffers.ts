// GPU buffers: a size-bucketed pool, and Storage, a refcounted slice of a pooled buffer
// that realized tensor values point at (several tensors may share one buffer).
import { gpu, onShutdown } from './device.js';

// GPUBufferUsage's values, spelled out: in Node the global exists only after init().
const USAGE = 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */;

/** Buffers are handed out in power-of-two-ish buckets so reuse hits often. */
function bucket(bytes: number): number {
  const b = Math.max(256, bytes);
  const p = 2 ** Math.ceil(Math.log2(b));
  // quarter steps above 1 MiB keep waste under 25%
  if (p >= 1 << 20) { const q = p / 4; return Math.ceil(b / q) * q; }
  return p;
}

export class SharedBuffer {
  refs = 0;
  constructor(readonly buffer: GPUBuffer, readonly bytes: number) {}
  retain(): this { this.refs++; return this; }
  release(): void { if (--this.refs === 0) pool.give(this); }
}

/** A tensor's place in memory: a byte offset into a shared buffer (a multiple of 4). */
export interface Storage { buf: SharedBuffer; byteOffset: number }

class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  bytesInUse = 0;
  bytesPooled = 0;
  peakBytes = 0;
  take(bytes: number): SharedBuffer {
    const size = bucket(bytes);
    const list = this.free.get(size);
    let buffer = list?.pop();
    if (buffer) this.bytesPooled -= size;
    else buffer = gpu().createBuffer({ size, usage: USAGE });
    this.bytesInUse += size;
    this.peakBytes = Math.max(this.peakBytes, this.bytesInUse);
    return new SharedBuffer(buffer, size);
  }
  give(b: SharedBuffer): void {
    this.bytesInUse -= b.bytes;
    this.bytesPooled += b.bytes;
    let list = this.free.get(b.bytes);
    if (!list) this.free.set(b.bytes, (list = []));
    list.push(b.buffer);
  }
  clear(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.bytesInUse = this.bytesPooled = this.peakBytes = 0;
  }
}

export const pool = new BufferPool();
onShutdown(() => pool.clear());

export function newStorage(bytes: number): Storage {
  return { buf: pool.take(bytes).retain(), byteOffset: 0 };
}

export function memoryStats(): { bytesInUse: number; bytesPooled: number; peakBytes: number } {
  return { bytesInUse: pool.bytesInUse, bytesPooled: pool.bytesPooled, peakBytes: pool.peakBytes };
}
