// Page: ONNX Runtime Web, WebGPU execution provider; inference only (MLP, CNN, Transformer encoder layer).
// The models are bench/onnx/NAME.onnx (exported from PyTorch by bench/onnx/gen_onnx.py) with their
// weights as external data: this page builds the weights file from the same TypeScript arrays as the
// other pages (common.ts) and hands it to ORT, so every system runs the same weights.
// ORT is imported at run time from node_modules (served by bench/server.ts), as the library ships it;
// it fetches its .wasm from the same folder.
import type * as Ort from 'onnxruntime-web';
import {
  adapterInfo, cnnData, cnnStateDict, ENCODER, encoderInput, encoderStateDict, expose, head4, mlpInferInput, mlpStateDict,
  now, timeChain, type InferResult, type StateDict, type TimingOpts, withNote,
} from './common';

const DIST = '/node_modules/onnxruntime-web/dist/';
let ortP: Promise<typeof Ort> | undefined;
function ort(): Promise<typeof Ort> {
  ortP ??= (async () => {
    const o: typeof Ort = await import(/* @vite-ignore */ `${DIST}ort.webgpu.min.mjs`);
    o.env.wasm.wasmPaths = DIST;
    o.env.wasm.numThreads = 1; // threads need a cross-origin-isolated page; the GPU does the work here anyway
    return o;
  })();
  return ortP;
}

interface Manifest { location: string; initializers: { name: string; shape: number[]; offset: number; length: number }[] }

/** An ORT session for bench/onnx/NAME.onnx with the weights of `sd`, outputs left on the GPU. */
async function session(name: string, sd: StateDict): Promise<Ort.InferenceSession> {
  const o = await ort();
  const get = async (file: string) => {
    const r = await fetch(`/bench/onnx/${file}`);
    if (!r.ok) throw new Error(`GET /bench/onnx/${file}: HTTP ${r.status} (run /usr/bin/python3 bench/onnx/gen_onnx.py)`);
    return r;
  };
  const model = new Uint8Array(await (await get(`${name}.onnx`)).arrayBuffer());
  const m = (await (await get(`${name}.json`)).json()) as Manifest;
  const weights = new Uint8Array(m.initializers.reduce((n, i) => Math.max(n, i.offset + i.length), 0));
  for (const i of m.initializers) {
    const t = sd[i.name];
    if (!t) throw new Error(`${name}.onnx: no weights for initializer ${i.name}`);
    if (t.shape.join() !== i.shape.join() || t.data.byteLength !== i.length) throw new Error(`${name}.onnx: ${i.name} is [${i.shape}], the bench's is [${t.shape}]`);
    weights.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), i.offset);
  }
  return o.InferenceSession.create(model, {
    executionProviders: ['webgpu'],
    externalData: [{ path: m.location, data: weights }],
    preferredOutputLocation: 'gpu-buffer',
  });
}

/** Times session.run on an input already on the GPU (as the other systems' inputs are), reading back the last output. */
async function timeSession(name: string, sd: StateDict, x: Float32Array<ArrayBuffer>, dims: number[], o: TimingOpts) {
  const lib = await ort();
  const t0 = now();
  const s = await session(name, sd); // not in firstMs, which is the first run (where ORT compiles its kernels)
  const createMs = now() - t0;
  const device = await lib.env.webgpu.device;
  const buf = device.createBuffer({ size: x.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, x);
  const feeds = { [s.inputNames[0]]: lib.Tensor.fromGpuBuffer(buf, { dataType: 'float32', dims }) };
  let sample = '';
  try {
    const t = await timeChain(async (k) => {
      let out: Ort.InferenceSession.ReturnType | undefined;
      for (let i = 0; i < k; i++) {
        out?.[s.outputNames[0]].dispose();
        out = await s.run(feeds);
      }
      const y = out![s.outputNames[0]];
      sample = head4((await y.getData()) as Float32Array);
      y.dispose();
    }, o);
    return { ...t, note: `InferenceSession, webgpu EP, input and outputs on the GPU ('gpu-buffer'), ORT ${lib.env.versions.web}; session created in ${createMs.toFixed(0)} ms; ${sample}` };
  } finally {
    await s.release();
    buf.destroy();
  }
}

async function infer(name: string, sd: StateDict, x: Float32Array<ArrayBuffer>, dims: number[], o: TimingOpts): Promise<InferResult> {
  const t = await timeSession(name, sd, x, dims, o);
  return { batch: dims[0], msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, note: `${name}.onnx; ${t.note}` };
}

expose(withNote({
  adapter: adapterInfo,
  mlpInfer: (batch, o) => infer('mlp', mlpStateDict(), mlpInferInput(batch), [batch, 784], o),
  cnnInfer: (batch, o) => infer('cnn', cnnStateDict(), cnnData(batch).x, [batch, 1, 28, 28], o),
  encoder: (o) => infer('encoder', encoderStateDict(), encoderInput(), [ENCODER.batch, ENCODER.seq, ENCODER.dModel], o),
}, 'memory: n/a (ORT Web exposes no figure for the GPU memory it holds)'));
