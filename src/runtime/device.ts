// Device acquisition for the browser (navigator.gpu) and Node (Dawn's `webgpu` package,
// with SwiftShader when the machine has no GPU). Everything else asks `gpu()` for the device.
import { tuningStore, checkTuningOption, type TuningOptions } from './tuning_store.js';

export interface KilnInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  features: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean; dot4I8Packed: boolean };
  limits: {
    maxStorageBuffersPerShaderStage: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupsPerDimension: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupStorageSize: number;
    maxBufferSize: number;
  };
  software: boolean;
  runtime: 'browser' | 'node';
}

export interface InitOptions {
  /** Prefer 'high-performance' (default) or 'low-power' adapters. */
  powerPreference?: GPUPowerPreference;
  /** Node only: request SwiftShader even when a GPU adapter exists. */
  forceSoftware?: boolean;
  /** Use an existing device instead of acquiring one (for embedding Kiln in an app). */
  device?: GPUDevice;
  /**
   * Per-adapter kernel tuning (default on, or off with $KILN_TUNING=off): the first use of a
   * kernel shape measures a few configurations in the background and caches the fastest for
   * this adapter (`cache`: see TuningOptions). false: every kernel keeps its default shape.
   */
  tuning?: boolean | TuningOptions;
}

interface Runtime { device: GPUDevice; info: KilnInfo; lost?: string; release?: () => void }

let current: Runtime | undefined;

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

/** The device; throws a clear error before `kn.init()` or after the device was lost. */
export function gpu(): GPUDevice {
  if (!current) throw new Error('Kiln is not initialised: call `await kn.init()` before creating or running tensors.');
  if (current.lost) throw new Error(`The WebGPU device was lost (${current.lost}); call \`await kn.init()\` again to get a new one.`);
  return current.device;
}

export function isInitialised(): boolean { return current !== undefined && !current.lost; }

export function info(): KilnInfo {
  if (!current) throw new Error('Kiln is not initialised: call `await kn.init()` first.');
  return current.info;
}

async function nodeGPU(forceSoftware: boolean): Promise<{ gpu: GPU; release: () => void }> {
  const env = (globalThis as any).process.env as Record<string, string | undefined>;
  // Dawn finds no adapter without a Vulkan driver; Debian's Chromium ships SwiftShader's.
  // The loader reads these variables when the instance is created, so set them first.
  const fs = await import('node:fs');
  const noDriverChosen = !env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES;
  if (fs.existsSync(SWIFTSHADER_ICD) && (forceSoftware || (noDriverChosen && !hasVulkanGPU(fs)))) {
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  env.XDG_RUNTIME_DIR ??= '/tmp';
  const mod: any = await import('webgpu');
  Object.assign(globalThis, mod.globals);
  let instance: GPU | null = mod.create([]);
  return { gpu: instance!, release: () => { instance = null; } };
}

function hasVulkanGPU(fs: typeof import('node:fs')): boolean {
  // Mesa installs ICD files for Intel and AMD whether or not such a GPU exists; a render
  // node or an NVIDIA device file is what says a GPU is really there.
  try { if (fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'))) return true; } catch { /* none */ }
  return fs.existsSync('/dev/nvidia0') || fs.existsSync('/dev/nvidiactl');
}

/** Picks a GPU (browser or Node); falls back to software WebGPU in Node. Idempotent. */
export async function init(opts: InitOptions = {}): Promise<KilnInfo> {
  checkTuningOption(opts.tuning);
  if (current && !current.lost) return current.info;
  const info = await acquire(opts);
  await tuningStore.open(info.adapter, opts.tuning);
  return info;
}

async function acquire(opts: InitOptions): Promise<KilnInfo> {
  if (opts.device) return adopt(opts.device, null, false, 'browser');
  const nav = (globalThis as any).navigator as Navigator | undefined;
  const isNode = typeof (globalThis as any).process?.versions?.node === 'string' && !nav?.gpu;
  let g: GPU, release: (() => void) | undefined;
  if (isNode) ({ gpu: g, release } = await nodeGPU(!!opts.forceSoftware));
  else if (nav?.gpu) g = nav.gpu;
  else throw new Error('WebGPU is not available: navigator.gpu is missing (a secure context, http://localhost or https, and a WebGPU-capable browser are required).');
  const adapter = await g.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new Error('No WebGPU adapter found. In Node without a GPU install Debian\'s chromium and libvulkan1 (SwiftShader); in a browser enable WebGPU.');
  const wanted: GPUFeatureName[] = ['shader-f16', 'subgroups', 'timestamp-query'];
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  const L = adapter.limits;
  // Ask for the adapter's own limits: defaults (8 storage buffers, 128 MiB bindings) are lower.
  const requiredLimits: Record<string, number> = {
    maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
    maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
    maxBufferSize: L.maxBufferSize,
    maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: L.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: L.maxComputeWorkgroupSizeY,
  };
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const ai = adapter.info ?? ({} as GPUAdapterInfo);
  const software = /swiftshader|llvmpipe|lavapipe/i.test(`${ai.vendor} ${ai.architecture} ${ai.device} ${ai.description}`);
  const dot4 = (g as any).wgslLanguageFeatures?.has?.('packed_4x8_integer_dot_product') ?? false;
  return adopt(device, ai, software, isNode ? 'node' : 'browser', dot4, release);
}

function adopt(device: GPUDevice, ai: GPUAdapterInfo | null, software: boolean, runtime: 'browser' | 'node', dot4 = false, release?: () => void): KilnInfo {
  const L = device.limits;
  const info: KilnInfo = {
    adapter: { vendor: ai?.vendor ?? '', architecture: ai?.architecture ?? '', device: ai?.device ?? '', description: ai?.description ?? '' },
    features: {
      shaderF16: device.features.has('shader-f16'),
      subgroups: device.features.has('subgroups'),
      timestampQuery: device.features.has('timestamp-query'),
      dot4I8Packed: dot4,
    },
    limits: {
      maxStorageBuffersPerShaderStage: L.maxStorageBuffersPerShaderStage,
      maxStorageBufferBindingSize: L.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: L.maxComputeWorkgroupsPerDimension,
      maxComputeInvocationsPerWorkgroup: L.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupStorageSize: L.maxComputeWorkgroupStorageSize,
      maxBufferSize: L.maxBufferSize,
    },
    software,
    runtime,
  };
  const rt: Runtime = { device, info, release };
  current = rt;
  device.lost.then((e) => { rt.lost = `${e.reason}: ${e.message}`; });
  device.onuncapturederror = (ev: any) => { console.error(`Kiln: WebGPU error: ${ev.error?.message ?? ev}`); };
  return info;
}

/** Destroys the device so Node can exit; `kn.init()` may be called again afterwards. */
export function shutdown(): void {
  if (!current) return;
  const rt = current;
  current = undefined;
  rt.lost = 'destroyed by kn.shutdown()';
  for (const hook of shutdownHooks) hook();
  rt.device.destroy();
  rt.release?.();
}

const shutdownHooks: (() => void)[] = [];
/** Caches keyed by device register here so they are cleared with it. */
export function onShutdown(hook: () => void): void { shutdownHooks.push(hook); }
