// Compute pipelines cached by WGSL text. Bindings are reflected from the WGSL with
// wgsl_reflect, so a kernel's buffers are bound by variable name, never by a hand-kept index.
import { WgslReflect } from 'wgsl_reflect/wgsl_reflect.module.js';
import { gpu, onShutdown } from './device.js';

export interface Kernel {
  pipeline: GPUComputePipeline;
  /** variable name -> binding index in group 0 */
  bindings: Map<string, number>;
  wgsl: string;
}

const cache = new Map<string, Promise<Kernel>>();
/** kernels whose compilation has finished, for callers that must not wait */
const ready = new Map<string, Kernel>();
onShutdown(() => { cache.clear(); ready.clear(); });

/** The compiled kernel for this WGSL if it is ready now, without waiting. */
export function peekKernel(wgsl: string): Kernel | undefined { return ready.get(wgsl); }

export let pipelinesCompiled = 0;

/** Compiles (asynchronously, so a page never freezes) or returns the cached pipeline. */
export function getKernel(wgsl: string): Promise<Kernel> {
  let k = cache.get(wgsl);
  if (!k) {
    k = build(wgsl);
    cache.set(wgsl, k);
    k.then((kernel) => { if (cache.get(wgsl) === k) ready.set(wgsl, kernel); }, () => undefined);
    k.catch(() => cache.delete(wgsl));
  }
  return k;
}

async function build(wgsl: string): Promise<Kernel> {
  const device = gpu();
  const reflect = new WgslReflect(wgsl);
  const bindings = new Map<string, number>();
  for (const s of reflect.storage) {
    if (s.group !== 0) throw new Error(`kernel binds ${s.name} in group ${s.group}; Kiln kernels use group 0 only`);
    bindings.set(s.name, s.binding);
  }
  const entry = reflect.entry.compute[0]?.name;
  if (!entry) throw new Error('kernel has no @compute entry point');
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: wgsl });
  let pipeline: GPUComputePipeline;
  try {
    pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: entry } });
  } catch (e) {
    await device.popErrorScope();
    const info = await module.getCompilationInfo();
    const msgs = info.messages.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n');
    throw new Error(`Kiln generated a kernel that failed to compile (a Kiln bug):\n${msgs || (e as Error).message}\n${numbered(wgsl)}`);
  }
  const err = await device.popErrorScope();
  if (err) throw new Error(`Kiln generated an invalid kernel (a Kiln bug): ${err.message}\n${numbered(wgsl)}`);
  pipelinesCompiled++;
  return { pipeline, bindings, wgsl };
}

function numbered(src: string): string {
  return src.split('\n').map((l, i) => `${String(i + 1).padStart(4)}  ${l}`).join('\n');
}
