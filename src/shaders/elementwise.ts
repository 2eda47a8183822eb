// The elementwise kernel: one invocation per output element, a body that the graph's
// lowering fills with the fused expression and the stores of every output.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, type BufferDecl } from './common.js';

export const ELEMENTWISE_WORKGROUP = 64;

export function elementwiseKernel(o: { buffers: BufferDecl[]; prelude: string; size: number; body: string; maxPerDim: number }) {
  const wg = ELEMENTWISE_WORKGROUP;
  const wgsl = `${declareBuffers(o.buffers)}
${o.prelude}
@compute @workgroup_size(${wg})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  let gi = wg_lin * ${wg}u + lidx;
  if (gi >= ${o.size}u) { return; }
${o.body}
}`;
  return { wgsl, workgroups: grid(Math.ceil(o.size / wg), o.maxPerDim) };
}
