// Kiln's public API. Nothing inside src imports this file.
export { init, info, shutdown, type KilnInfo, type InitOptions } from './runtime/device.js';
export type { TuningOptions } from './runtime/tuning_store.js';
export type { TuningRecord } from './graph/tuning.js';
export { memoryStats } from './runtime/buffers.js';
export { Tensor, tensor, zeros, ones, full, arange, concat as cat, concat, stack, where, isnan, isinf, isfinite, nanToNum } from './graph/tensor.js';
export {
  chunk, split, unbind, select, roll, tile, tril, triu, eye, linspace, zerosLike, onesLike, fullLike,
  outer, einsum, bmm, norm, prod, all, any, square, reciprocal, ceil, maskedFill,
} from './graph/compose.js';
export { cumsum, cumprod, sort, argsort, topk, scatter, scatterAdd, indexAdd } from './graph/ordered.js';
import type { Tensor as T } from './graph/tensor.js';
export const round = (x: T) => x.round();
export const expm1 = (x: T) => x.expm1();
export { unflatten } from './layers/resample.js';
export type { DType } from './graph/ir.js';
export { noGrad } from './graph/state.js';
import { state as graphState } from './graph/state.js';
import { setTiling, listTuning, setTuning, tuningSettled } from './graph/tuning.js';
import { QUICK_TILING, DEFAULT_TILING, BIG_TILING, type MatmulTiling } from './shaders/matmul.js';
/** Switches for tests and debugging. */
export const debug = {
  /** false: every op runs as its own kernel (the unfused reference path) */
  setFusion(on: boolean): void { graphState.fusion = on; },
  /** false: kernels use their workgroup-memory fallback even where the device has subgroups */
  setSubgroups(on: boolean): void { graphState.subgroups = on; },
  /** pins every matmul to one tiling (undefined: per-shape choice with tiered compilation); setTuning('matmul', t) */
  setMatmulTiling(t: MatmulTiling | undefined): void { setTiling(t); },
  /** the kernel configurations chosen on this adapter: [{key, emitter, config, label, source, ms per candidate}] */
  tuning: listTuning,
  /**
   * setTuning(false | true): tuning off (default configurations, no measuring, no cache) or on;
   * setTuning(keyOrEmitter, config | undefined): forces a configuration for one kernel shape (a
   * key from tuning()) or for an emitter ('matmul', 'reduce', 'attention'); undefined lifts it
   */
  setTuning,
  /** resolves when the background measurements started so far and their cache writes are done */
  tuningSettled,
  QUICK_TILING, DEFAULT_TILING, BIG_TILING,
};
export { compile, type CompiledFunction, type CompileOptions } from './graph/jit.js';
import { DeviceScalar } from './graph/scalar.js';
import type { DType } from './graph/dtype.js';
export { DeviceScalar };
/**
 * A 0-d tensor whose value the host sets (`s.value = 0.5`) without retracing the compiled
 * functions that read it: the way to pass a changing number into kn.compile.
 */
export function scalar(value: number, opts?: { dtype?: DType }): DeviceScalar {
  options('scalar', opts, ['dtype']);
  return new DeviceScalar(value, opts?.dtype ?? 'float32');
}
export { autocast, isAutocastEnabled, type AutocastOptions } from './graph/autocast.js';
import { autocast } from './graph/autocast.js';
import { GradScaler } from './train/grad_scaler.js';
/** Mixed precision, as torch.amp: autocast and dynamic loss scaling. */
export const amp = { autocast, GradScaler };
export type { GradScalerOptions, GradScalerState } from './train/grad_scaler.js';
export { grad } from './graph/grad.js';
export * as generative from './generative/index.js';
import { manualSeed as seedHost } from './layers/random.js';
import { seedDevice } from './graph/random.js';
import { checkInt, options } from './graph/args.js';
/**
 * Seeds both generators: the host one (initialisation, data shuffling) and the device one
 * (kn.rand and the other draws, dropout, augmentation), as torch.manual_seed.
 */
export function manualSeed(seed: number): void {
  checkInt('manualSeed', 'seed', seed);
  seedHost(seed);
  seedDevice(seed);
}
export { rand, randn, randint, randLike, randnLike, randintLike, normal, bernoulli, randperm, multinomial } from './graph/random.js';

import * as layersF from './layers/functional.js';
import * as losses from './train/losses.js';
import * as layers from './layers/layers.js';
import * as conv from './layers/conv.js';
import * as norm from './layers/norm.js';
import * as resample from './layers/resample.js';
import * as embedding from './layers/embedding.js';
import * as rnn from './layers/rnn.js';
import * as attention from './layers/attention.js';
import * as transformer from './layers/transformer.js';
import * as gen from './layers/generation.js';
import { Module, Parameter } from './layers/module.js';
import { ModuleList, ModuleDict, ParameterList } from './layers/containers.js';
import * as init from './layers/init.js';
import * as lossModules from './train/loss_modules.js';
import { SGD, Adam, AdamW, RMSprop, Adagrad, Optimizer } from './train/optim.js';
import { clipGradNorm_, clipGradValue_ } from './train/clip.js';
import { lrScheduler } from './train/schedulers.js';
import { fit, EarlyStopping, historyCharts } from './train/fit.js';
import { saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, applyCheckpoint } from './train/checkpoint.js';
import { encodeSafetensors, decodeSafetensors, saveStateDictBytes, stateDictFromBytes } from './train/safetensors.js';
import { DataLoader, parseIdx } from './train/data.js';
import { fashionMNIST, FASHION_MNIST_CLASSES } from './train/datasets.js';
import * as augment from './train/augment.js';
import { ProgressBar } from './train/progress.js';
import { renderLineChart, encodePNG } from './train/plot.js';

export const F = { ...layersF, ...losses, conv1d: conv.conv1d, conv2d: conv.conv2d, convTranspose2d: conv.convTranspose2d, maxPool2d: conv.maxPool2d, avgPool2d: conv.avgPool2d, adaptiveAvgPool2d: conv.adaptiveAvgPool2d, batchNorm: norm.batchNorm, layerNorm: norm.layerNorm, groupNorm: norm.groupNorm, rmsNorm: norm.rmsNorm, dropout2d: norm.dropout2d, interpolate: resample.interpolate, pad: resample.pad, embedding: embedding.embedding, rotaryEmbedding: embedding.rotaryEmbedding, scaledDotProductAttention: attention.scaledDotProductAttention };
export const nn = { Module, Parameter, ModuleList, ModuleDict, ParameterList, init, ...lossModules, ...layers, Conv1d: conv.Conv1d, Conv2d: conv.Conv2d, ConvTranspose2d: conv.ConvTranspose2d, MaxPool2d: conv.MaxPool2d, AvgPool2d: conv.AvgPool2d, AdaptiveAvgPool2d: conv.AdaptiveAvgPool2d, BatchNorm1d: norm.BatchNorm1d, BatchNorm2d: norm.BatchNorm2d, LayerNorm: norm.LayerNorm, GroupNorm: norm.GroupNorm, RMSNorm: norm.RMSNorm, Dropout2d: norm.Dropout2d,
  Upsample: resample.Upsample, UpsamplingNearest2d: resample.UpsamplingNearest2d, UpsamplingBilinear2d: resample.UpsamplingBilinear2d, Unflatten: resample.Unflatten,
  ZeroPad2d: resample.ZeroPad2d, ConstantPad1d: resample.ConstantPad1d, ConstantPad2d: resample.ConstantPad2d, ConstantPad3d: resample.ConstantPad3d,
  ReflectionPad1d: resample.ReflectionPad1d, ReflectionPad2d: resample.ReflectionPad2d, ReflectionPad3d: resample.ReflectionPad3d,
  ReplicationPad1d: resample.ReplicationPad1d, ReplicationPad2d: resample.ReplicationPad2d, ReplicationPad3d: resample.ReplicationPad3d,
  Embedding: embedding.Embedding, SinusoidalPositionalEncoding: embedding.SinusoidalPositionalEncoding,
  LearnedPositionalEmbedding: embedding.LearnedPositionalEmbedding, RotaryEmbedding: embedding.RotaryEmbedding,
  RNN: rnn.RNN, LSTM: rnn.LSTM, GRU: rnn.GRU,
  MultiheadAttention: transformer.MultiheadAttention, TransformerEncoderLayer: transformer.TransformerEncoderLayer,
  TransformerDecoderLayer: transformer.TransformerDecoderLayer, TransformerEncoder: transformer.TransformerEncoder,
  TransformerDecoder: transformer.TransformerDecoder, Transformer: transformer.Transformer,
  utils: { clipGradNorm_, clipGradValue_ } };
/** Datasets by name (as torchvision.datasets), the loader and IDX parsing; Node and browser. */
export const data = { fashionMNIST, FASHION_MNIST_CLASSES, DataLoader, parseIdx };
export type { FashionMNISTOptions } from './train/datasets.js';
/** Training utilities: the fit loop, callbacks, data loading, progress and charts (browser-safe). */
export const train = {
  fit, EarlyStopping, historyCharts, DataLoader, parseIdx, ProgressBar, renderLineChart, encodePNG,
  saveCheckpoint, loadCheckpoint, encodeCheckpoint, decodeCheckpoint, applyCheckpoint,
  encodeSafetensors, decodeSafetensors, saveStateDictBytes, stateDictFromBytes,
  /** data augmentation on the GPU: per-sample random crops and flips, normalisation (seeded) */
  augment,
};
export type { Transform, PaddingMode, RandomCropOptions } from './train/augment.js';
export type { EmbeddingOptions, RotaryOptions } from './layers/embedding.js';
export type { RNNOptions } from './layers/rnn.js';
export type { AttentionOptions } from './layers/attention.js';
export type { MultiheadAttentionOptions, MultiheadAttentionForwardOptions, TransformerLayerOptions, TransformerOptions, TransformerForwardOptions, EncoderLayerForwardOptions, DecoderLayerForwardOptions, Activation } from './layers/transformer.js';
export type { SamplingOptions, GenerateOptions, CausalLM } from './layers/generation.js';
/** Autoregressive decoding: sampling (temperature, top-k, top-p), a key/value cache, generate(). */
export const generation = { sample: gen.sample, samplingProbabilities: gen.samplingProbabilities, KVCache: gen.KVCache, Decoder: gen.Decoder, generate: gen.generate };
export type { CheckpointContents, CheckpointTargets, LoadedCheckpoint, CheckpointBackend } from './train/checkpoint.js';
export type { SafeTensor, SafeDType } from './train/safetensors.js';
export type { FitOptions, Callback, FitContext, History, Logs } from './train/fit.js';
export type { Dataset, Batch } from './train/data.js';
export const optim = { SGD, Adam, AdamW, RMSprop, Adagrad, Optimizer, lrScheduler };
export type { OptimizerStateDict, ParamState, StateDictGroup, ParamGroup } from './train/optim.js';
export type { SchedulerState, OneCycleLROptions, ReduceLROnPlateauOptions } from './train/schedulers.js';

