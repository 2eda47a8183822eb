// Pieces every kernel template shares: storage declarations and a 1-D launch that folds
// into a second dimension when it exceeds maxComputeWorkgroupsPerDimension.

export type ElemType = 'f32' | 'i32' | 'u32' | 'vec4<f32>' | 'vec2<u32>' | 'vec4<u32>';

export interface BufferDecl { name: string; type: ElemType; writable: boolean }

export function declareBuffers(bufs: BufferDecl[]): string {
  return bufs.map((b, i) =>
    `@group(0) @binding(${i}) var<storage, ${b.writable ? 'read_write' : 'read'}> ${b.name}: array<${b.type}>;`).join('\n');
}

export interface Launch { workgroups: [number, number, number] }

/** Workgroup grid for `count` workgroups; the kernel recovers the linear id with `linearWorkgroup`. */
export function grid(count: number, maxPerDim: number): [number, number, number] {
  if (count <= maxPerDim) return [Math.max(count, 1), 1, 1];
  const y = Math.ceil(count / maxPerDim);
  if (y > maxPerDim) throw new Error(`a dispatch of ${count} workgroups exceeds the adapter's limit of ${maxPerDim}x${maxPerDim}`);
  return [maxPerDim, y, 1];
}

export const LINEAR_WORKGROUP = 'let wg_lin = wid.y * nwg.x + wid.x;';
export const BUILTINS = '@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lidx: u32';

/**
 * WGSL lets an implementation assume that no float is NaN or infinite (SwiftShader folds
 * `x != x` to false, its max/min drop a NaN, its log(0) is -88): these helpers test and build
 * the special values on the bits. A kernel gets those it calls by name (graph/lower.ts).
 */
export const IEEE_HELPERS = `
fn kn_f32_bits(b: u32) -> f32 { return bitcast<f32>(b); }
fn kn_isnan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn kn_isinf(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) == 0x7f800000u; }
`;
// WGSL has no NaN or infinity literals, and a constant expression that evaluates to one is a
// shader-creation error: the bits go through a function call, which is not constant-evaluated
export const NAN = 'kn_f32_bits(0x7fc00000u)';
export const INF = 'kn_f32_bits(0x7f800000u)';
export const NEG_INF = 'kn_f32_bits(0xff800000u)';
/** A WGSL bool: whether the f32 expression x is NaN (or an infinity), tested on its bits. */
export const isNan = (x: string) => `kn_isnan(${x})`;
export const isInf = (x: string) => `kn_isinf(${x})`;
