// Reductions. Few large reductions (a loss, a norm) get a workgroup per output with a tree
// in workgroup memory; many small ones (bias gradients) get an invocation per output.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, type BufferDecl } from './common.js';

export type Combine = 'sum' | 'max' | 'min' | 'argmax' | 'argmin';

export interface ReduceSpec {
  buffers: BufferDecl[];
  prelude: string;
  op: Combine;
  /** WGSL type of the accumulated value */
  ty: string;
  outputs: number;
  reduceSize: number;
  /** statements run once per output `o` before the loop (index arithmetic) */
  pre: string;
  /** statements computing `val` for reduction index `k` of output `o` (both u32 in scope) */
  load: string;
  /** statements storing the result `acc` (or index `arg`) of output `o` */
  store: string;
  maxPerDim: number;
  /** a CPU adapter: see useWorkgroupReduce */
  software?: boolean;
}

const WG = 64;

function initValue(op: Combine, ty: string): string {
  if (op === 'sum') return `${ty}(0)`;
  const big = ty === 'f32' ? '3.4028234663852886e38' : '2147483647';
  return op === 'max' || op === 'argmax' ? `${ty}(-${big})` : `${ty}(${big})`;
}

/** `better` decides whether val replaces acc (NaN propagates, as in PyTorch). */
function better(op: Combine, ty: string): string {
  const nan = ty === 'f32' ? ' | (val != val)' : '';
  return op === 'max' || op === 'argmax' ? `((val > acc)${nan})` : `((val < acc)${nan})`;
}

export function useWorkgroupReduce(outputs: number, reduceSize: number, software = false): boolean {
  // never below 256 elements: each of the 256 invocations must own at least one
  if (reduceSize < 256) return false;
  // On a CPU adapter a workgroup's barriers cost more than the loop they save: an invocation
  // per output wins as soon as the outputs fill a few SIMD groups (bias gradients: 64-256
  // outputs of 2,048 rows each in the GPT's step)
  if (software) return outputs < 16;
  return reduceSize >= 1024 || outputs < 64;
}

export function reduceKernel(s: ReduceSpec) {
  const arg = s.op === 'argmax' || s.op === 'argmin';
  const step = s.op === 'sum' ? 'acc = acc + val;' : `if ${better(s.op, s.ty)} { acc = val;${arg ? ' arg = k;' : ''} }`;
  // max/min start from the first element each invocation visits, not from ±FLT_MAX: a row of
  // -inf has max -inf (WGSL rejects infinite constants, so no ±inf start value exists)
  const seed = (k: string) => (s.op === 'sum' ? '' : `{\n    let k = ${k};\n${s.load}\n    acc = val; arg = k;\n  }`);
  const from = (k: string, stride: number) => (s.op === 'sum' ? k : `${k} + ${stride}u`);
  if (!useWorkgroupReduce(s.outputs, s.reduceSize, s.software)) {
    const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
@compute @workgroup_size(${WG})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  let o = wg_lin * ${WG}u + lidx;
  if (o >= ${s.outputs}u) { return; }
${s.pre}
  var acc = ${initValue(s.op, s.ty)};
  var arg = 0u;
  ${seed('0u')}
  for (var k = ${from('0u', 1)}; k < ${s.reduceSize}u; k = k + 1u) {
${s.load}
    ${step}
  }
${s.store}
}`;
    return { wgsl, workgroups: grid(Math.ceil(s.outputs / WG), s.maxPerDim) };
  }
  // one workgroup per output: strided partial results, then a tree in workgroup memory
  const T = 256;
  const merge = s.op === 'sum' ? 'sh_v[lidx] = sh_v[lidx] + sh_v[lidx + w];'
    : `{ let val = sh_v[lidx + w]; let acc = sh_v[lidx]; if (${better(s.op, s.ty)} || (val == acc && sh_a[lidx + w] < sh_a[lidx])) { sh_v[lidx] = val; sh_a[lidx] = sh_a[lidx + w]; } }`;
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
var<workgroup> sh_v: array<${s.ty}, ${T}>;
var<workgroup> sh_a: array<u32, ${T}>;
@compute @workgroup_size(${T})
fn main(${BUILTINS}) {
  ${LINEAR_WORKGROUP}
  let o = wg_lin;
${s.pre}
  var acc = ${initValue(s.op, s.ty)};
  var arg = 0u;
  if (o < ${s.outputs}u) {
    // every invocation has a first element: this variant runs only when reduceSize >= ${T}
    ${seed('lidx')}
    for (var k = ${from('lidx', T)}; k < ${s.reduceSize}u; k = k + ${T}u) {
${s.load}
      ${step}
    }
  }
  sh_v[lidx] = acc;
  sh_a[lidx] = arg;
  workgroupBarrier();
  for (var w = ${T / 2}u; w > 0u; w = w >> 1u) {
    if (lidx < w) { ${merge} }
    workgroupBarrier();
  }
  if (lidx == 0u && o < ${s.outputs}u) {
    let acc = sh_v[0];
    let arg = sh_a[0];
${s.store}
  }
}`;
  return { wgsl, workgroups: grid(s.outputs, s.maxPerDim) };
}
