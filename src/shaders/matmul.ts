// Batched matmul C[b, m, n] = sum_k A[b, m, k] B[b, k, n]. Operands are read through strides,
// so transposes and broadcasts cost nothing; the epilogue (bias, activation, residual) is a
// function the graph's lowering writes. Tiling is a parameter: the best differs per adapter.
import { BUILTINS, declareBuffers, grid, type BufferDecl } from './common.js';

export interface Operand { buf: string; offset: number; sb: number; s0: number; s1: number }

export interface MatmulTiling { tm: number; tn: number; wgx: number; wgy: number }
export const DEFAULT_TILING: MatmulTiling = { tm: 4, tn: 4, wgx: 8, wgy: 8 };

export interface MatmulSpec {
  buffers: BufferDecl[];
  prelude: string;
  batch: number; M: number; N: number; K: number;
  /** A[b, m, k] at a.offset + b*a.sb + m*a.s0 + k*a.s1 */
  a: Operand;
  /** B[b, k, n] at b.offset + b*b.sb + k*b.s0 + n*b.s1 */
  b: Operand;
  /** body of `fn kn_epilogue(bi: u32, row: u32, col: u32, acc: f32)` */
  epilogue: string;
  tiling?: MatmulTiling;
  maxPerDim: number;
}

export function matmulKernel(s: MatmulSpec) {
  const t = s.tiling ?? DEFAULT_TILING;
  const { tm, tn, wgx, wgy } = t;
  const tilesM = Math.ceil(s.M / (tm * wgy)), tilesN = Math.ceil(s.N / (tn * wgx));
  const idx = (o: Operand, b: string, i: string, j: string) =>
    `${o.offset}u + ${b} * ${o.sb}u + (${i}) * ${o.s0}u + (${j}) * ${o.s1}u`;
  const lines: string[] = [];
  // clamp rows/cols so edge tiles read in bounds; their results are simply not stored
  for (let i = 0; i < tm; i++) lines.push(`let ar${i} = min(row0 + ${i}u, ${s.M - 1}u);`);
  for (let j = 0; j < tn; j++) lines.push(`let bc${j} = min(col0 + ${j}u, ${s.N - 1}u);`);
  const body: string[] = [];
  for (let i = 0; i < tm; i++) body.push(`let a${i} = ${s.a.buf}[${idx(s.a, 'bi', `ar${i}`, 'k')}];`);
  for (let j = 0; j < tn; j++) body.push(`let b${j} = ${s.b.buf}[${idx(s.b, 'bi', 'k', `bc${j}`)}];`);
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) body.push(`acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`);
  const accs: string[] = [], stores: string[] = [];
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) {
    accs.push(`var acc${i}_${j} = 0.0;`);
    stores.push(`if (row0 + ${i}u < ${s.M}u && col0 + ${j}u < ${s.N}u) { kn_epilogue(bi, row0 + ${i}u, col0 + ${j}u, acc${i}_${j}); }`);
  }
  const wgsl = `${declareBuffers(s.buffers)}
${s.prelude}
fn kn_epilogue(bi: u32, row: u32, col: u32, acc: f32) {
${s.epilogue}
}
@compute @workgroup_size(${wgx}, ${wgy})
fn main(${BUILTINS}, @builtin(local_invocation_id) lid: vec3u) {
  let wg_lin = wid.y * nwg.x + wid.x;
  let bi = wg_lin / ${tilesM * tilesN}u;
  let tile = wg_lin % ${tilesM * tilesN}u;
  if (bi >= ${s.batch}u) { return; }
  let row0 = ((tile / ${tilesN}u) * ${wgy}u + lid.y) * ${tm}u;
  let col0 = ((tile % ${tilesN}u) * ${wgx}u + lid.x) * ${tn}u;
  ${lines.join('\n  ')}
  ${accs.join(' ')}
  for (var k = 0u; k < ${s.K}u; k = k + 1u) {
    ${body.join('\n    ')}
  }
  ${stores.join('\n  ')}
}`;
  return { wgsl, workgroups: grid(s.batch * tilesM * tilesN, s.maxPerDim) };
}
