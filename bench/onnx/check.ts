// Checks that the committed ONNX graphs, given the bench's TypeScript weights the way pages/ort.ts
// gives them (external data), compute what PyTorch computes with those weights: runs each model in
// ORT's wasm (CPU) backend in Node, writes the weights, input and output to DIR, then
// bench/onnx/check.py loads the same weights into the PyTorch modules and compares.
//   npx tsx bench/onnx/check.ts /tmp/onnxcheck && /usr/bin/python3 bench/onnx/check.py /tmp/onnxcheck
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { cnnData, cnnStateDict, ENCODER, encoderInput, encoderStateDict, mlpInferInput, mlpStateDict, type StateDict } from '../pages/common';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = process.argv[2] ?? '/tmp/onnxcheck';
fs.mkdirSync(dir, { recursive: true });
ort.env.wasm.numThreads = 1;

const cases: [string, StateDict, Float32Array, number[]][] = [
  ['mlp', mlpStateDict(), mlpInferInput(2), [2, 784]],
  ['cnn', cnnStateDict(), cnnData(2).x, [2, 1, 28, 28]],
  ['encoder', encoderStateDict(), encoderInput(), [ENCODER.batch, ENCODER.seq, ENCODER.dModel]],
];
for (const [name, sd, x, dims] of cases) {
  const m = JSON.parse(fs.readFileSync(path.join(here, `${name}.json`), 'utf8'));
  const weights = new Uint8Array(m.initializers.reduce((n: number, i: any) => Math.max(n, i.offset + i.length), 0));
  for (const i of m.initializers) weights.set(new Uint8Array(sd[i.name].data.buffer), i.offset);
  const s = await ort.InferenceSession.create(fs.readFileSync(path.join(here, `${name}.onnx`)), { externalData: [{ path: m.location, data: weights }] });
  const y = (await s.run({ x: new ort.Tensor('float32', x, dims) })).y;
  fs.writeFileSync(path.join(dir, `${name}.weights`), weights);
  fs.writeFileSync(path.join(dir, `${name}.x`), x);
  fs.writeFileSync(path.join(dir, `${name}.y`), y.data as Float32Array);
  console.log(`${name}: ORT wasm output [${y.dims}], out[0..3] ${Array.from(y.data as Float32Array).slice(0, 4).map((v) => v.toFixed(4)).join(' ')}`);
}
