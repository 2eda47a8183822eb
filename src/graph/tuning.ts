// Kernel shapes picked per adapter. The matmul tiling is chosen once per adapter (see
// bench/ and the autotuner); until then a shape measured on software WebGPU is used.
import type { MatmulTiling } from '../shaders/matmul.js';

let tiling: MatmulTiling | undefined;
export function currentTiling(): MatmulTiling | undefined { return tiling; }
export function setTiling(t: MatmulTiling | undefined): void { tiling = t; }
