// Traces and their replay, on graph nodes: a traced graph (outputs and the assigns it records)
// becomes one Program (forward, backward and optimizer update together) reading its inputs
// from buffers of its own; a replay copies new argument values in, runs every dispatch and
// copies the outputs out, all in one command buffer, with no per-op JavaScript. The Tensor
// front end of kn.compile (signatures, retracing, output structure) is jit.ts.
import { type Node, numel } from './ir.js';
import { storageBytes, type DType } from './dtype.js';
import { node } from './ops/index.js';
import { buildProgram, runProgram, finishAssigns, type Program } from './realize.js';
import { newStorage, type Storage } from '../runtime/buffers.js';
import { gpu } from '../runtime/device.js';

export interface Trace { program: Program; inputs: Storage[]; outputs: Node[] }

/** A trace's input: a buffer node with storage of its own that every replay copies the argument into. */
export function inputNode(shape: number[], dtype: DType, requiresGrad: boolean): { node: Node; storage: Storage } {
  const storage = newStorage(storageBytes(dtype, numel(shape)));
  const n = node('buffer', [], { shape: shape.slice(), dtype });
  n.setStorage(storage);
  n.requiresGrad = requiresGrad;
  return { node: n, storage };
}

/**
 * Builds the program of a traced graph and runs it once on the arguments' values (realized
 * nodes); the outputs keep their storage. Returns the trace and the outputs' value copies.
 */
export async function recordTrace(inputs: Storage[], outputs: Node[], assigns: Node[], args: Node[]): Promise<{ trace: Trace; values: Node[] }> {
  const program = await buildProgram([...outputs, ...assigns], true);
  const trace: Trace = { program, inputs, outputs };
  run(trace, args);
  finishAssigns(program);
  for (const [n, s] of program.outputs) { s.buf.retain(); n.setStorage(s); }
  // the first call's outputs have storage only once the traced program has run
  const enc = gpu().createCommandEncoder();
  const values = copyOutputs(trace, enc);
  gpu().queue.submit([enc.finish()]);
  return { trace, values };
}

/** Runs a trace on new arguments (realized nodes of the traced shapes and dtypes); gives each output's value as a new realized node. */
export function replay(trace: Trace, args: Node[]): Node[] {
  let values: Node[] = [];
  run(trace, args, (enc) => { values = copyOutputs(trace, enc); });
  return values;
}

/** Each call's results get storage of their own, so earlier results stay valid. */
function copyOutputs(trace: Trace, enc: GPUCommandEncoder): Node[] {
  return trace.outputs.map((n) => {
    const bytes = storageBytes(n.dtype, numel(n.shape));
    const s = newStorage(bytes);
    enc.copyBufferToBuffer(n.storage!.buf.buffer, n.storage!.byteOffset, s.buf.buffer, 0, bytes);
    const out = node('buffer', [], { shape: n.shape.slice(), dtype: n.dtype });
    out.setStorage(s);
    return out;
  });
}

function run(trace: Trace, args: Node[], after?: (enc: GPUCommandEncoder) => void): void {
  runProgram(trace.program, (enc) => {
    args.forEach((a, i) => {
      const s = a.storage!;
      if (numel(a.shape)) enc.copyBufferToBuffer(s.buf.buffer, s.byteOffset, trace.inputs[i].buf.buffer, 0, storageBytes(a.dtype, numel(a.shape)));
    });
  }, after);
}

/** Wall time of each dispatch of a program, each run alone `reps` times and waited for. */
export async function profileProgram(program: Program, reps: number): Promise<{ label: string; ms: number }[]> {
  const device = gpu();
  const out: { label: string; ms: number }[] = [];
  for (const p of program.passes) {
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(p.pipeline); pass.setBindGroup(0, p.bindGroup); pass.dispatchWorkgroups(...p.workgroups);
      pass.end();
      device.queue.submit([enc.finish()]);
    }
    await device.queue.onSubmittedWorkDone();
    out.push({ label: p.label, ms: (performance.now() - t0) / reps });
  }
  return out;
}
