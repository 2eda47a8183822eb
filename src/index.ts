// Kiln's public API. Nothing inside src imports this file.
export { init, info, shutdown, type KilnInfo, type InitOptions } from './runtime/device.js';
export { memoryStats } from './runtime/buffers.js';
export { Tensor, tensor, zeros, ones, full, arange, concat as cat, concat, stack } from './graph/tensor.js';
export type { DType } from './graph/ir.js';
export { noGrad } from './graph/state.js';
