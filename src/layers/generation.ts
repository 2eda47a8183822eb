// Autoregressive generation: sampling a token from logits (temperature, top-k, top-p, greedy),
// a key/value cache for decoding, and generate(), which runs a prompt through a causal
// language model and decodes new tokens one at a time.
//
// Randomness. Sampling draws from a uniform [0, 1) source given as `generator`; by default it
// is the host generator of random.ts, so kn.manualSeed(s) makes generation reproducible
// (the same seed, model and options give the same tokens).
//
// Why the cache has a fixed length. Each layer's keys and values live in one buffer
// [B, H, maxLen, Dh]. A decode step writes its new key and value into row `pos` with an
// assign of the whole buffer (`arange(maxLen) == pos ? new : old`) and attends over all
// maxLen rows with the mask `arange(maxLen) <= pos`. `pos` is an int32 tensor, an input of
// the step, so every step has the same shapes and the same graph: kn.compile traces it once
// and replays it for every token. Growing the cache with concat would change the key length
// at every step, and each new shape is a new trace (seconds of kernel compilation on
// software WebGPU). The price is attending over maxLen keys instead of pos + 1, which is
// small next to the per-step overhead at the context lengths used here.
import { Tensor, tensor, assign, arange, concat, zeros } from '../graph/tensor.js';
import { compile, type CompiledFunction } from '../graph/jit.js';
import { noGrad } from '../graph/state.js';
import { shapeStr } from '../graph/ir.js';
import { scaledDotProductAttention } from './attention.js';
import { random } from './random.js';

export interface SamplingOptions {
  /** the logits are divided by it before the softmax; 0 picks the most likely token (greedy). Default 1 */
  temperature?: number;
  /** keep only the k most likely tokens (tokens tied with the k-th logit are kept too, as in Hugging Face) */
  topK?: number;
  /** keep only the smallest set of most likely tokens whose probabilities sum to at least topP (nucleus sampling) */
  topP?: number;
  /** uniform [0, 1) numbers; default: the host generator seeded by kn.manualSeed */
  generator?: () => number;
}

function fail(fn: string, msg: string): never { throw new Error(`${fn}: ${msg}`); }

function checkSampling(fn: string, { temperature = 1, topK, topP }: SamplingOptions): void {
  if (!(temperature >= 0) || !Number.isFinite(temperature)) fail(fn, `temperature must be a finite number >= 0 (0 is greedy), got ${temperature}`);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 1)) fail(fn, `topK must be an integer >= 1, got ${topK}`);
  if (topP !== undefined && !(topP > 0 && topP <= 1)) fail(fn, `topP must be in (0, 1], got ${topP}`);
}

/** The index of the largest logit (the first one on ties). */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * The distribution sample() draws from, in float64: softmax(logits / temperature), then
 * top-k, then top-p, each renormalised (the order of Hugging Face's warpers). Tokens left out
 * have probability 0. For temperature 0 it is one-hot on the argmax.
 */
export function samplingProbabilities(logits: ArrayLike<number>, opts: SamplingOptions = {}): Float64Array {
  checkSampling('samplingProbabilities', opts);
  const n = logits.length;
  if (!n) fail('samplingProbabilities', 'logits are empty');
  const { temperature = 1, topK, topP } = opts;
  const p = new Float64Array(n);
  if (temperature === 0) { p[argmax(logits)] = 1; return p; }
  // descending by logit; a stable sort keeps the lower index first on ties
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => logits[b] - logits[a]);
  const max = logits[order[0]];
  let keep = n;
  if (topK !== undefined && topK < n) {
    keep = topK;
    while (keep < n && logits[order[keep]] === logits[order[topK - 1]]) keep++;
  }
  let sum = 0;
  for (let r = 0; r < keep; r++) { const i = order[r]; p[i] = Math.exp((logits[i] - max) / temperature); sum += p[i]; }
  for (let r = 0; r < keep; r++) p[order[r]] /= sum;
  if (topP !== undefined && topP < 1) {
    let cum = 0, r = 0;
    while (r < keep && cum < topP) cum += p[order[r++]];
    for (; r < keep; r++) p[order[r]] = 0;
    for (let i = 0; i < n; i++) p[i] /= cum;
  }
  return p;
}

/** Draws one token index from logits [vocab] (host numbers); see SamplingOptions. */
export function sample(logits: ArrayLike<number>, opts: SamplingOptions = {}): number {
  const p = samplingProbabilities(logits, opts);
  if (opts.temperature === 0) return argmax(logits);
  let u = (opts.generator ?? random)();
  for (let i = 0; i < p.length; i++) {
    u -= p[i];
    if (u < 0 && p[i] > 0) return i;
  }
  // rounding left u a hair above 0: the last token with any probability
  for (let i = p.length - 1; ; i--) if (p[i] > 0) return i;
}

/**
 * Per-layer keys and values of fixed length maxLen, [batchSize, numHeads, maxLen, headDim]
 * each, written in place (see the note at the top of this file). A layer calls attend() with
 * its queries and new keys and values at a position: 0 for a prompt (prefill: the prompt's
 * rows are written and it attends causally over itself), or an int32 tensor [1] for one new
 * token (decode: the row at that position is written and it attends over rows 0..pos).
 */
export class KVCache {
  readonly keys: Tensor[] = [];
  readonly values: Tensor[] = [];
  constructor(readonly numLayers: number, readonly batchSize: number, readonly numHeads: number, readonly maxLen: number, readonly headDim: number) {
    for (const [k, v] of Object.entries({ numLayers, batchSize, numHeads, maxLen, headDim })) {
      if (!Number.isInteger(v) || v < 1) fail('KVCache', `${k} must be a positive integer, got ${v}`);
    }
    for (let l = 0; l < numLayers; l++) {
      this.keys.push(zeros([batchSize, numHeads, maxLen, headDim]));
      this.values.push(zeros([batchSize, numHeads, maxLen, headDim]));
    }
  }

  /** Writes k and v [B, H, T, Dh] of `layer` at `pos` and returns the attention output for q [B, H, T, Dh]. */
  attend(layer: number, q: Tensor, k: Tensor, v: Tensor, pos: number | Tensor): Tensor {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) fail('KVCache.attend', `layer must be in 0..${this.numLayers - 1}, got ${layer}`);
    const want = [this.batchSize, this.numHeads, k.shape[2], this.headDim];
    for (const [name, t] of [['key', k], ['value', v]] as const) {
      if (t.shape.join() !== want.join()) fail('KVCache.attend', `${name} must have shape [batchSize, numHeads, T, headDim] = ${shapeStr(want)}, got ${shapeStr(t.shape)}`);
    }
    const T = k.shape[2], L = this.maxLen;
    const K = this.keys[layer], V = this.values[layer];
    if (typeof pos === 'number') {
      if (pos !== 0) fail('KVCache.attend', `a prompt (prefill) starts at position 0, got ${pos}; later tokens come one at a time with an int32 position tensor`);
      if (T > L) fail('KVCache.attend', `the prompt has ${T} tokens, longer than the cache (maxLen ${L})`);
      // rows past the prompt keep stale values: every later step masks them out
      assign(K, T === L ? k : concat([k, K.narrow(2, T, L - T)], 2));
      assign(V, T === L ? v : concat([v, V.narrow(2, T, L - T)], 2));
      return scaledDotProductAttention(q, k, v, { isCausal: true });
    }
    if (T !== 1) fail('KVCache.attend', `a decode step takes one token, got ${T} (key ${shapeStr(k.shape)})`);
    if (pos.dtype !== 'int32' || pos.numel() !== 1) fail('KVCache.attend', `pos must be an int32 tensor with one element, got dtype ${pos.dtype} with shape ${shapeStr(pos.shape)}`);
    const rows = arange(L), p = pos.reshape(1);
    const slot = rows.eq(p).reshape(1, 1, L, 1);
    const keys = slot.where(k, K), values = slot.where(v, V);
    assign(K, keys);
    assign(V, values);
    return scaledDotProductAttention(q, keys, values, { attnMask: rows.le(p) });
  }

  dispose(): void { for (const t of [...this.keys, ...this.values]) t.dispose(); }
}

/** A causal language model that generate() can drive. */
export interface CausalLM {
  /**
   * Logits [B, T, vocab] for int32 tokens [B, T]. With a cache, the tokens sit at `pos`
   * (0 for a prompt, an int32 tensor [1] for one new token) and each layer attends through
   * cache.attend().
   */
  forward(idx: Tensor, opts?: { cache?: KVCache; pos?: number | Tensor }): Tensor;
  /** an empty cache for this model: one layer entry per attention layer, maxLen = its context length */
  newCache(batchSize?: number): KVCache;
}

/**
 * Decodes one sequence (batch 1) through a KV cache: prefill() runs the prompt in one pass,
 * then next() appends one token per call with one compiled, replayed step. Each returns the
 * logits [vocab] for the token that follows. Runs without gradients; put dropout layers in
 * eval mode first (model.eval()).
 */
export class Decoder {
  readonly cache: KVCache;
  #length = 0;
  readonly #step: CompiledFunction<[Tensor, Tensor], Tensor>;
  constructor(readonly model: CausalLM) {
    this.cache = model.newCache(1);
    this.#step = compile((token: Tensor, pos: Tensor) => noGrad(() => {
      const logits = model.forward(token, { cache: this.cache, pos });
      return logits.reshape(-1);
    }));
  }
  /** tokens in the cache */
  get length(): number { return this.#length; }

  async prefill(prompt: ArrayLike<number>): Promise<Float32Array> {
    const P = prompt.length, L = this.cache.maxLen;
    if (!P) fail('Decoder.prefill', 'the prompt is empty; give at least one token');
    if (P > L) fail('Decoder.prefill', `the prompt has ${P} tokens, longer than the cache (maxLen ${L})`);
    const idx = tensor(Int32Array.from(prompt), [1, P], { dtype: 'int32' });
    const logits = noGrad(() => this.model.forward(idx, { cache: this.cache, pos: 0 }));
    const last = await logits.narrow(1, P - 1, 1).reshape(-1).data() as Float32Array;
    idx.dispose(); logits.dispose();
    this.#length = P;
    return last;
  }

  async next(token: number): Promise<Float32Array> {
    if (!this.#length) fail('Decoder.next', 'call prefill(prompt) first');
    if (this.#length >= this.cache.maxLen) fail('Decoder.next', `the cache is full (maxLen ${this.cache.maxLen} tokens)`);
    const t = tensor(Int32Array.of(token), [1, 1], { dtype: 'int32' });
    const pos = tensor(Int32Array.of(this.#length), [1], { dtype: 'int32' });
    const out = await this.#step(t, pos);
    const logits = await out.data() as Float32Array;
    t.dispose(); pos.dispose(); out.dispose();
    this.#length++;
    return logits;
  }

  dispose(): void { this.cache.dispose(); }
}

export interface GenerateOptions extends SamplingOptions {
  /** called with each new token as soon as it is chosen (for streaming output) */
  onToken?: (token: number) => void;
}

/**
 * Runs `prompt` (token ids) through `model` and samples `maxNewTokens` more, one at a time
 * through a KV cache; returns the new tokens (not the prompt). The prompt must fit in the
 * model's context (the cache's maxLen). When the cache fills up, the context is cropped to
 * its last floor(maxLen / 2) tokens, which are run again as a new prompt (one pass for every
 * maxLen / 2 new tokens, where nanoGPT's crop recomputes the whole context at every token).
 */
export async function generate(model: CausalLM, prompt: ArrayLike<number>, maxNewTokens: number, opts: GenerateOptions = {}): Promise<number[]> {
  checkSampling('generate', opts);
  if (!Number.isInteger(maxNewTokens) || maxNewTokens < 0) fail('generate', `maxNewTokens must be a non-negative integer, got ${maxNewTokens}`);
  if (!prompt.length) fail('generate', 'the prompt is empty; give at least one token');
  const decoder = new Decoder(model);
  try {
    const L = decoder.cache.maxLen;
    if (prompt.length > L) fail('generate', `the prompt has ${prompt.length} tokens, longer than the cache (maxLen ${L})`);
    const tokens = Array.from(prompt), out: number[] = [];
    if (!maxNewTokens) return out;
    let logits = await decoder.prefill(tokens);
    for (;;) {
      const token = sample(logits, opts);
      tokens.push(token); out.push(token);
      opts.onToken?.(token);
      if (out.length === maxNewTokens) return out;
      logits = decoder.length < L ? await decoder.next(token) : await decoder.prefill(tokens.slice(-Math.max(1, Math.floor(L / 2))));
    }
  } finally {
    decoder.dispose();
  }
}
