// Reductions, two kernel shapes: a workgroup per output with a tree in workgroup memory (few large
// reductions: a loss, a norm) or an invocation per output (many small ones: bias gradients).
// Which one, and the workgroup size, is a configuration (REDUCE_TUNING) the tuner measures.
import { BUILTINS, LINEAR_WORKGROUP, declareBuffers, grid, isNan, type BufferDecl } from './common.js';
import { type Tunable, checkFields, intIn, oneOf, powerOfTwoIn, distinct } from './tunable.js';

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
  /** the kernel shape (REDUCE_TUNING); absent: the default rule for a GPU */
  config?: ReduceConfig;
}

export interface ReduceConfig {
  /** an invocation loops over each output's elements, or a workgroup shares them and adds a tree */
  perOutput: 'invocation' | 'workgroup';
  /** invocations per workgroup (a power of two for 'workgroup': the tree halves it) */
  workgroup: number;
}
export interface ReduceProblem { op: Combine; outputs: number; reduceSize: number; dtype: string }

/** Reductions under this many elements in all take microseconds: not worth compiling candidates for. */
const TUNE_MIN_WORK = 2 ** 16;
const INVOCATION: ReduceConfig = { perOutput: 'invocation', workgroup: 64 };
const WORKGROUP: ReduceConfig = { perOutput: 'workgroup', workgroup: 256 };

/** Every configuration valid for a problem computes the same result (sums in a different order). */
export const REDUCE_TUNING: Tunable<ReduceProblem, ReduceConfig> = {
  emitter: 'reduce',
  key: (p) => `${p.op} ${p.outputs}x${p.reduceSize} ${p.dtype}`,
  default: (p, adapter) => (useWorkgroupReduce(p.outputs, p.reduceSize, adapter.software) ? WORKGROUP : INVOCATION),
  candidates(p, adapter) {
    const def = REDUCE_TUNING.default(p, adapter);
    if (p.outputs * p.reduceSize < TUNE_MIN_WORK || p.reduceSize < 64) return [def];
    const more: ReduceConfig[] = [INVOCATION, WORKGROUP, { perOutput: 'workgroup', workgroup: 64 }];
    return distinct(REDUCE_TUNING, [def, ...more.filter((c) => !REDUCE_TUNING.invalid(c, p, adapter))]);
  },
  invalid(c, p, adapter) {
    const max = Math.min(256, adapter?.maxInvocations ?? 256);
    const bad = checkFields(c, { perOutput: oneOf('invocation', 'workgroup'), workgroup: intIn(1, max) }, ['perOutput', 'workgroup']);
    if (bad) return bad;
    const r = c as ReduceConfig;
    if (r.perOutput === 'workgroup') {
      const pow = powerOfTwoIn(2, max)(r.workgroup);
      if (pow) return `config.workgroup must be ${pow} for a workgroup per output, got ${r.workgroup}`;
      // each invocation must own at least one element: max/min start from their first one
      if (p && p.reduceSize < r.workgroup) return `a workgroup of ${r.workgroup} per output needs at least ${r.workgroup} elements per output, this reduction has ${p.reduceSize}`;
    }
    return undefined;
  },
  label: (c) => `${c.perOutput === 'workgroup' ? 'a workgroup' : 'an invocation'} per output, workgroup ${c.workgroup}`,
};

function initValue(op: Combine, ty: string): string {
  if (op === 'sum') return `${ty}(0)`;
  const big = ty === 'f32' ? '3.4028234663852886e38' : '2147483647';
  return op === 'max' || op === 'argmax' ? `${ty}(-${big})` : `${ty}(${big})`;
}

/**
 * `better` decides whether val replaces acc. NaN propagates, as in PyTorch (tested on the bits:
 * the compiler may fold `val != val` to false); argmax/argmin keep the first NaN's index.
 */
function better(op: Combine, ty: string): string {
  const arg = op === 'argmax' || op === 'argmin';
  const nan = ty !== 'f32' ? '' : arg ? ` | (${isNan('val')} & !${isNan('acc')})` : ` | ${isNan('val')}`;
  return op === 'max' || op === 'argmax' ? `((val > acc)${nan})` : `((val < acc)${nan})`;
}
/** In the tree: equal values (or two NaNs) keep the lower index. */
function tie(ty: string): string {
  return ty === 'f32' ? `(val == acc || (${isNan('val')} && ${isNan('acc')}))` : '(val == acc)';
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
  const config = s.config ?? (useWorkgroupReduce(s.outputs, s.reduceSize) ? WORKGROUP : INVOCATION);
  const bad = REDUCE_TUNING.invalid(config, { op: s.op, outputs: s.outputs, reduceSize: s.reduceSize, dtype: s.ty });
  if (bad) throw new Error(`internal: reduce kernel configuration: ${bad} (a Kiln bug)`);
  const what = `// reduce ${s.outputs}x${s.reduceSize}: ${REDUCE_TUNING.label(config)}`;
  const arg = s.op === 'argmax' || s.op === 'argmin';
  const step = s.op === 'sum' ? 'acc = acc + val;' : `if ${better(s.op, s.ty)} { acc = val;${arg ? ' arg = k;' : ''} }`;
  // max/min start from the first element each invocation visits, not from ±FLT_MAX: a row of
  // -inf has max -inf (WGSL rejects infinite constants, so no ±inf start value exists)
  const seed = (k: string) => (s.op === 'sum' ? '' : `{\n    let k = ${k};\n${s.load}\n    acc = val; arg = k;\n  }`);
  const from = (k: string, stride: number) => (s.op === 'sum' ? k : `${k} + ${stride}u`);
  if (config.perOutput === 'invocation') {
    const WG = config.workgroup;
    const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
${what}
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
  const T = config.workgroup;
  const merge = s.op === 'sum' ? 'sh_v[lidx] = sh_v[lidx] + sh_v[lidx + w];'
    : `{ let val = sh_v[lidx + w]; let acc = sh_v[lidx]; if (${better(s.op, s.ty)} || (${tie(s.ty)} && sh_a[lidx + w] < sh_a[lidx])) { sh_v[lidx] = val; sh_a[lidx] = sh_a[lidx + w]; } }`;
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
var<workgroup> sh_v: array<${s.ty}, ${T}>;
var<workgroup> sh_a: array<u32, ${T}>;
${what}
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
