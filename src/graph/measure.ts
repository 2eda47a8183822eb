// Measuring a tunable kernel's candidates (for the tuner, tuning.ts): each is lowered with the
// program's own group, compiled one at a time, and timed on scratch buffers of the kernel's sizes,
// so the program's data is never touched.
import type { Tunable } from '../shaders/tunable.js';
import type { Measurement } from '../runtime/tuning_store.js';
import { getKernel, type Kernel } from '../runtime/pipelines.js';
import type { SharedBuffer } from '../runtime/buffers.js';
import type { Dispatch } from './lower.js';

/** Scratch memory one measurement may allocate; bigger kernels keep their default. */
const SCRATCH_LIMIT = 256 * 2 ** 20;
/** Each timing repeats the dispatch until it lasts about this long (ms). */
const TARGET_MS = 4;
/** Rounds through the candidates; each keeps its fastest (other processes' load makes single timings unreliable). */
const ROUNDS = 5;
/** A candidate replaces the default only when it is at least this much faster: timings are noisy. */
const MARGIN = 0.95;

interface Variant { configs: unknown[]; d: Dispatch; kernel?: Kernel; bind?: GPUBindGroup; warm: number; ms: number }

/**
 * Compiles each candidate (the default first), times it and returns the fastest with every time
 * and how many kernels were timed; undefined when `alive()` turns false. Candidates that lower to
 * the same WGSL are one kernel.
 */
export async function measure(t: Tunable<any, any>, candidates: unknown[], lowerWith: (config: unknown) => Dispatch[], device: GPUDevice,
  alive: () => boolean): Promise<{ config: unknown; ms: Measurement[]; timed: number } | undefined> {
  const def = candidates[0];
  const variants: Variant[] = [];
  for (const cfg of candidates) {
    const ds = lowerWith(cfg);
    if (ds.length !== 1) return undefined;
    const same = variants.find((v) => v.d.wgsl === ds[0].wgsl);
    if (same) same.configs.push(cfg); else variants.push({ configs: [cfg], d: ds[0], warm: Infinity, ms: Infinity });
  }
  if (variants.length < 2) return { config: def, ms: [], timed: 0 };
  for (const v of variants) {
    if (!alive()) return undefined;
    try { v.kernel = await getKernel(v.d.wgsl); } catch (e) {
      console.warn(`Kiln: a ${t.emitter} candidate (${t.label(v.configs[0])}) failed to compile and is left out: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  const live = variants.filter((v) => v.kernel);
  if (live.length < 2 || !live.some((v) => v.configs.includes(def))) return { config: def, ms: [], timed: 0 };
  const scratch = new Map<SharedBuffer, GPUBuffer>();
  let bytes = 0;
  for (const v of live) for (const b of v.d.buffers) if (!scratch.has(b)) { scratch.set(b, undefined as unknown as GPUBuffer); bytes += b.bytes; }
  if (bytes > SCRATCH_LIMIT) return { config: def, ms: [], timed: 0 };
  try {
    for (const b of scratch.keys()) scratch.set(b, device.createBuffer({ size: b.bytes, usage: 0x80 /* STORAGE */ }));
    for (const v of live) {
      const k = v.kernel!;
      v.bind = device.createBindGroup({
        layout: k.pipeline.getBindGroupLayout(0),
        entries: v.d.buffers.map((b, j) => ({ binding: k.bindings.get(`buf${j}`)!, resource: { buffer: scratch.get(b)! } })),
      });
    }
    const time = async (v: Variant, reps: number) => {
      await device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(v.kernel!.pipeline);
      pass.setBindGroup(0, v.bind!);
      for (let r = 0; r < reps; r++) pass.dispatchWorkgroups(...v.d.workgroups);
      pass.end();
      device.queue.submit([enc.finish()]);
      await device.queue.onSubmittedWorkDone();
      return (performance.now() - t0) / reps;
    };
    // a first run of each (its time is the estimate of how many repetitions make a timing)
    for (const v of live) { if (!alive()) return undefined; v.warm = await time(v, 1); }
    // rounds through all of them, keeping each one's fastest: work the program submits meanwhile,
    // or another process's, lands in some rounds, not in all
    for (let r = 0; r < ROUNDS; r++) {
      // every other round backwards, so no candidate always runs right after the same one
      for (const v of r % 2 ? [...live].reverse() : live) {
        if (!alive()) return undefined;
        const reps = Math.max(1, Math.min(16, Math.ceil(TARGET_MS / Math.max(v.warm, 0.01))));
        v.ms = Math.min(v.ms, await time(v, reps));
      }
    }
  } finally {
    for (const b of scratch.values()) b?.destroy();
  }
  const fastest = live.reduce((a, b) => (b.ms < a.ms ? b : a));
  const defVariant = live.find((v) => v.configs.includes(def))!;
  const winner = fastest.ms < defVariant.ms * MARGIN ? fastest.configs[0] : def;
  const ms = live.flatMap((v) => v.configs.map((config) => ({ label: t.label(config), config, ms: round(v.ms) })));
  return { config: winner, ms, timed: live.length };
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;
