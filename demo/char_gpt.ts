// A small character-level GPT (nanoGPT's architecture) and its data: one definition shared by
// the main job (scripts/models/gpt.ts imports it) and the browser demo (demo/gpt.html loads it
// from dist/char_gpt.js, which scripts/build.mjs bundles from this file with the engine left
// out: the page gets it from dist/kiln.js). So this file uses only Kiln's public API, `kn`
// (and mulberry32, a stateless function).
//
// Model: token + learned position embeddings, nLayer pre-norm blocks (LayerNorm, causal
// self-attention through F.scaledDotProductAttention, LayerNorm, MLP with GELU), a final
// LayerNorm and an untied linear head; PyTorch's default initialisations (nanoGPT draws the
// embeddings from N(0, 0.02) instead of N(0, 1)). No dropout: the models here are small and
// trained briefly. With a KV cache the model decodes one token per step (kn.generation).
import * as kn from '../src/index.ts';
import { mulberry32 } from '../src/train/data.ts';

type Tensor = kn.Tensor;
type KVCache = InstanceType<typeof kn.generation.KVCache>;
type Optimizer = InstanceType<typeof kn.optim.Optimizer>;
const nn = kn.nn;

export interface GPTConfig {
  vocabSize: number;
  /** context length: the longest sequence (and the size of the position table and the KV cache) */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
}

/** Where a forward pass reads and writes the KV cache (absent: a plain causal pass). */
interface CacheStep { cache: KVCache; layer: number; pos: number | Tensor }

class CausalSelfAttention extends nn.Module {
  cAttn: InstanceType<typeof nn.Linear>;
  cProj: InstanceType<typeof nn.Linear>;
  constructor(readonly nEmbd: number, readonly nHead: number) {
    super();
    this.cAttn = new nn.Linear(nEmbd, 3 * nEmbd);
    this.cProj = new nn.Linear(nEmbd, nEmbd);
  }
  forward(x: Tensor, step?: CacheStep): Tensor {
    const [B, T, C] = x.shape, H = this.nHead, Dh = C / H;
    const qkv = this.cAttn.forward(x);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.narrow(2, i * C, C).reshape(B, T, H, Dh).transpose(1, 2));
    const y = step ? step.cache.attend(step.layer, q, k, v, step.pos) : kn.F.scaledDotProductAttention(q, k, v, { isCausal: true });
    return this.cProj.forward(y.transpose(1, 2).reshape(B, T, C));
  }
}

class Block extends nn.Module {
  ln1: InstanceType<typeof nn.LayerNorm>;
  attn: CausalSelfAttention;
  ln2: InstanceType<typeof nn.LayerNorm>;
  mlp: InstanceType<typeof nn.Sequential>;
  constructor(nEmbd: number, nHead: number) {
    super();
    this.ln1 = new nn.LayerNorm(nEmbd);
    this.attn = new CausalSelfAttention(nEmbd, nHead);
    this.ln2 = new nn.LayerNorm(nEmbd);
    this.mlp = new nn.Sequential(new nn.Linear(nEmbd, 4 * nEmbd), new nn.GELU(), new nn.Linear(4 * nEmbd, nEmbd));
  }
  forward(x: Tensor, step?: CacheStep): Tensor {
    x = x.add(this.attn.forward(this.ln1.forward(x), step));
    return x.add(this.mlp.forward(this.ln2.forward(x)));
  }
}

export class GPT extends nn.Module {
  wte: InstanceType<typeof nn.Embedding>;
  wpe: InstanceType<typeof nn.Embedding>;
  h: Block[];
  lnF: InstanceType<typeof nn.LayerNorm>;
  lmHead: InstanceType<typeof nn.Linear>;
  constructor(readonly config: GPTConfig) {
    super();
    const { vocabSize, blockSize, nLayer, nHead, nEmbd } = config;
    if (nEmbd % nHead !== 0) throw new Error(`GPT: nEmbd (${nEmbd}) must be divisible by nHead (${nHead})`);
    this.wte = new nn.Embedding(vocabSize, nEmbd);
    this.wpe = new nn.Embedding(blockSize, nEmbd);
    this.h = Array.from({ length: nLayer }, () => new Block(nEmbd, nHead));
    this.lnF = new nn.LayerNorm(nEmbd);
    this.lmHead = new nn.Linear(nEmbd, vocabSize, { bias: false });
  }

  /** Logits [B, T, vocab] for int32 tokens [B, T]; with a cache, at `pos` (see kn.generation's CausalLM). */
  forward(idx: Tensor, { cache, pos = 0 }: { cache?: KVCache; pos?: number | Tensor } = {}): Tensor {
    const T = idx.shape[1];
    if (T > this.config.blockSize) throw new Error(`GPT: sequence of ${T} tokens is longer than the context (blockSize ${this.config.blockSize})`);
    if (!cache && pos !== 0) throw new Error('GPT: a position other than 0 needs a KV cache');
    const positions = pos instanceof kn.Tensor ? pos : kn.arange(T);
    let x = this.wte.forward(idx).add(this.wpe.forward(positions));
    this.h.forEach((block, layer) => { x = block.forward(x, cache && { cache, layer, pos }); });
    return this.lmHead.forward(this.lnF.forward(x));
  }

  newCache(batchSize = 1): KVCache {
    const { nLayer, nHead, blockSize, nEmbd } = this.config;
    return new kn.generation.KVCache(nLayer, batchSize, nHead, blockSize, nEmbd / nHead);
  }

  /** The mean cross-entropy of next-token prediction: x, y int32 [B, T]. */
  loss(x: Tensor, y: Tensor): Tensor {
    const logits = this.forward(x);
    return kn.F.crossEntropy(logits.reshape(-1, this.config.vocabSize), y.reshape(-1));
  }
}

/** One compiled training step: forward, backward, gradient clipping at norm 1, optimizer update. */
export function trainStep(model: GPT, opt: Optimizer) {
  const params = model.parameters();
  return kn.compile((x: Tensor, y: Tensor) => {
    const loss = model.loss(x, y);
    loss.backward();
    kn.nn.utils.clipGradNorm_(params, 1);
    opt.step(); opt.zeroGrad();
    return loss;
  });
}

/** A text as character ids: the alphabet (sorted), a 90/10 train/validation split, random windows. */
export class CharCorpus {
  readonly chars: string[];
  readonly train: Int32Array;
  readonly val: Int32Array;
  readonly #index: Map<string, number>;
  constructor(text: string, valFraction = 0.1) {
    this.chars = [...new Set(text)].sort();
    this.#index = new Map(this.chars.map((c, i) => [c, i]));
    const ids = this.encode(text), cut = Math.floor(ids.length * (1 - valFraction));
    this.train = ids.subarray(0, cut);
    this.val = ids.subarray(cut);
  }
  get vocabSize(): number { return this.chars.length; }
  encode(s: string): Int32Array {
    return Int32Array.from(s, (c) => {
      const i = this.#index.get(c);
      if (i === undefined) throw new Error(`CharCorpus: '${c}' is not in the corpus's alphabet`);
      return i;
    });
  }
  decode(ids: ArrayLike<number>): string { return Array.from(ids, (i) => this.chars[i]).join(''); }

  /** A seeded source of [batchSize, blockSize] windows: x, and y = x shifted by one character. */
  batches(split: 'train' | 'val', batchSize: number, blockSize: number, seed: number): () => { x: Tensor; y: Tensor } {
    const data = split === 'train' ? this.train : this.val;
    if (data.length <= blockSize) throw new Error(`CharCorpus: the ${split} split (${data.length} characters) is shorter than a window of ${blockSize + 1}`);
    const rand = mulberry32(seed);
    return () => {
      const x = new Int32Array(batchSize * blockSize), y = new Int32Array(batchSize * blockSize);
      for (let b = 0; b < batchSize; b++) {
        const start = Math.floor(rand() * (data.length - blockSize));
        x.set(data.subarray(start, start + blockSize), b * blockSize);
        y.set(data.subarray(start + 1, start + blockSize + 1), b * blockSize);
      }
      return { x: kn.tensor(x, [batchSize, blockSize], { dtype: 'int32' }), y: kn.tensor(y, [batchSize, blockSize], { dtype: 'int32' }) };
    };
  }
}

/** The mean loss of `model` over `batches` windows drawn by `next` (evaluation mode, one compiled pass each). */
export async function meanLoss(lossOf: (x: Tensor, y: Tensor) => Promise<Tensor>, next: () => { x: Tensor; y: Tensor }, batches: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < batches; i++) {
    const { x, y } = next();
    const l = await lossOf(x, y);
    sum += await l.item();
    x.dispose(); y.dispose(); l.dispose();
  }
  return sum / batches;
}
