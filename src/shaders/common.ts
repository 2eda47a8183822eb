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
