// The shape of one op's definition. Every op is one entry of the typed table in ops/index.ts
// holding, side by side: its family, its shape and dtype rule (run when a node is built), its
// float64 reference, its gradient (in other ops) and its lowering (a WGSL expression, an index
// map, or an emitter call). The scheduler and the lowering ask the entry; they never match names.
import type { Node, Shape } from '../ir.js';
import type { DType } from '../dtype.js';
import type { Tensor } from '../tensor.js';
import type { Storage, SharedBuffer } from '../../runtime/buffers.js';
import type { BufferDecl, ElemType } from '../../shaders/common.js';
import type { MatmulTiling } from '../../shaders/matmul.js';
import type { Tunable } from '../../shaders/tunable.js';

export type Family = 'source' | 'elementwise' | 'view' | 'reduce' | 'matmul' | 'rows' | 'attention' | 'assign';

/** What a node's rule sees of its inputs. */
export interface Meta { shape: number[]; dtype: DType }

/**
 * The Tensor class reached through an instance: gradient rules build ops the Tensor methods do
 * not offer (arange, internal ops) this way, since the front end imports this table, not the reverse.
 */
export interface TensorClass { arange(n: number): Tensor; make(op: string, inputs: Tensor[], attrs: object): Tensor }
export const tensorClass = (t: Tensor): TensorClass => t.constructor as unknown as TensorClass;

/** A gradient rule: one gradient (or null) per input, built from other ops. */
export type GradRule<A> = (g: Tensor, inputs: Tensor[], out: Tensor, attrs: A, node: Node) => (Tensor | null)[];

interface Common<A> {
  /** the node's shape and dtype from its inputs and attributes; throws if they do not fit */
  infer: (inputs: readonly Node[], attrs: A) => Meta;
  /** absent: no gradient flows through the op */
  grad?: GradRule<A>;
}

// ------------------------------------------------------------------ elementwise

export type Accepts = 'float' | 'numeric' | 'bool' | 'any';

export interface ElementwiseDef<A> extends Common<A> {
  family: 'elementwise';
  arity: 1 | 2 | 3;
  /** which dtypes the inputs may have (default: numeric) */
  accepts?: Accepts;
  /** the result's dtype from the (promoted) input dtypes; default: the first input's */
  dtype?: (d: DType[], attrs: A) => DType;
  /** float64 reference on one element */
  ref: (args: number[], attrs: A) => number;
  /** WGSL expression from argument expressions; `ty` is the WGSL type of the result, `inTy` of the first input */
  wgsl: (args: string[], attrs: A, ty: string, inTy: string) => string;
}

// ------------------------------------------------------------------ views

/**
 * Integer index arithmetic, with WGSL's u32 semantics (subtraction wraps, so one unsigned
 * compare checks both ends of a range). A view's index map is written once against it: the
 * float64 reference evaluates it on numbers, the lowering renders it to WGSL.
 */
export interface IndexAlgebra<E> {
  c(v: number): E;
  add(a: E, b: E | number): E;
  sub(a: E, b: E | number): E;
  mul(a: E, b: E | number): E;
  div(a: E, b: number): E;
  mod(a: E, b: number): E;
  /** unsigned a < b: with a wrapped subtraction, `lt(sub(x, lo), n)` is lo <= x < lo + n */
  lt(a: E, b: E | number): E;
  ge(a: E, b: E | number): E;
  eq(a: E, b: E | number): E;
  and(...conds: E[]): E;
  /** the row-major flat index of dims in shape, and back */
  ravel(dims: E[], shape: Shape): E;
  unravel(flat: E, shape: Shape): E[];
  /** the value (an index) of integer input `input` at `dims`, clamped to [0, hi] */
  read(input: number, dims: E[], hi: number): E;
}

/** Where a view's element reads from: input `input` at `index`, when `valid` holds. */
export interface ViewSource<E> { input: number; index: E[]; valid?: E }

/** A strided layout of a view over a buffer: kernels such as matmul read it in place. */
export interface Strided { offset: number; strides: number[] }

export interface ViewDef<A> extends Common<A> {
  family: 'view';
  /**
   * The index map: candidate sources of output element `out`, in order; the first valid one
   * gives the value, none gives `padValue` (0 unless the attributes say).
   */
  source: <E>(ix: IndexAlgebra<E>, out: E[], node: ViewNode<A>) => ViewSource<E>[];
  /** reshape: a flat index passes through unchanged */
  flatIdentity?: boolean;
  /** the layout of the view given its input's, or null when no single stride per dim fits */
  strided?: (input: Strided, node: ViewNode<A>) => Strided | null;
  padValue?: (attrs: A) => number;
  /** concat: inputs laid end to end along this axis (the scheduler may compute them in place) */
  concatAxis?: (attrs: A) => number;
  /** gather, indexSelect: reads an index input (a matmul operand with one is copied once) */
  readsIndex?: boolean;
}

/** What an index map sees of its node. */
export interface ViewNode<A> { shape: Shape; inputs: readonly { shape: Shape }[]; attrs: A }

// ------------------------------------------------------------------ sources and kernels

/** What a lowering may ask of the kernel body being built (implemented by lower.ts's Builder). */
export interface KernelBuilder {
  registers: Map<Node, string>;
  ownFlat: string;
  emit(line: string): void;
  fresh(prefix?: string): string;
  scoped(fn: () => void): string;
  /** the value of node n at an index given flat or as dims (a WGSL expression) */
  value(n: Node, idx: Idx): string;
  dims(idx: Idx, shape: Shape): string[];
  flat(idx: Idx, shape: Shape): string;
  store(n: Node, flat: string, v: string): void;
  buffer(s: Storage, d: DType, writable: boolean): string;
  /** the buffer bound a second time as an array of vectors (read-only) */
  buffer4(s: Storage, type?: ElemType): string;
  body(): string;
  decls(): BufferDecl[];
  bufferList(): SharedBuffer[];
  /** a strided view of a buffer that `n` is (matmul operands), with its element layout (packed: elements per word), or null */
  stridedOperand(n: Node): { storage: Storage; dtype: DType; layout: { offset: number; sb: number; s0: number; s1: number; packed?: 2 } } | null;
  /** whether this kernel writes (any part of) the buffer of `s` */
  writes(s: Storage): boolean;
  /** the helper functions every kernel may call */
  prelude: string;
  /** stores each output of the group computed inline at the kernel's own index (epilogues) */
  storeOutputs(): void;
  /** throws when the kernel binds more buffers than the adapter allows */
  checkBindings(what: string): void;
}

export interface Idx { flat?: string; dims?: string[] }

export interface Dispatch { wgsl: string; workgroups: [number, number, number]; buffers: SharedBuffer[] }

export interface LowerContext {
  storage: Map<Node, Storage>;
  maxPerDim: number;
  maxBindings: number;
  /** a matmul tiling that wins over `choose` (the quick tier of tiered compilation) */
  tiling?: MatmulTiling;
  /** picks a tunable emitter's configuration for a problem (src/graph/tuning.ts); absent: the emitter's default */
  choose?: (t: Tunable<any, any>, problem: unknown) => unknown;
  /** the device has subgroups and they are not switched off (kn.debug.setSubgroups) */
  subgroups?: boolean;
  /** maxComputeWorkgroupStorageSize and maxComputeInvocationsPerWorkgroup (WebGPU's defaults when absent) */
  workgroupStorage?: number;
  maxInvocations?: number;
  /** a CPU adapter (SwiftShader, llvmpipe): kernel shapes that suit SIMD lanes */
  software?: boolean;
}

/** The configuration of a tunable emitter for this problem (the tuner's choice, else the default). */
export function pick<P, C>(ctx: LowerContext, t: Tunable<P, C>, problem: P): C {
  return (ctx.choose ? ctx.choose(t, problem) : t.default(problem, { software: !!ctx.software, maxInvocations: ctx.maxInvocations ?? 256 })) as C;
}

export interface SourceDef<A> extends Common<A> {
  family: 'source';
  /** float64 values (a buffer has none: its values come from the caller) */
  ref: (node: Node, ins: Float64Array[]) => Float64Array;
  /** the WGSL expression of the value at idx */
  inline: (b: KernelBuilder, node: Node, idx: Idx) => string;
}

/** Ops that are the core of a kernel of their own (reductions, matmul, row ops, attention). */
export interface KernelDef<A> extends Common<A> {
  family: 'reduce' | 'matmul' | 'rows' | 'attention';
  ref: (node: Node, ins: Float64Array[]) => Float64Array;
  /** the kernel's WGSL and launch: the core is `node`, the group's epilogue is in `b` */
  lower: (b: KernelBuilder, node: Node, ctx: LowerContext) => Omit<Dispatch, 'buffers'>;
}

export interface AssignDef<A> extends Common<A> { family: 'assign' }

export type OpDef<A> = ElementwiseDef<A> | ViewDef<A> | SourceDef<A> | KernelDef<A> | AssignDef<A>;
