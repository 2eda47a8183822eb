// Generation (src/layers/generation.ts): the sampling distribution after temperature, top-k
// and top-p against hand-computed ones, seeded reproducibility, greedy decoding, the KV cache
// against full forward passes of a small random GPT (demo/char_gpt.ts), cropping the context
// when the cache is full, and the errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import { Decoder, argmax, generate, sample, samplingProbabilities } from '../src/layers/generation.js';
import { GPT } from '../demo/char_gpt.ts';

beforeAll(async () => { await kn.init(); });
afterAll(() => { kn.shutdown(); });

const expectProbs = (actual: Float64Array, expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((p, i) => expect(actual[i], `token ${i}`).toBeCloseTo(p, 12));
};

/** The tokens drawn in n seeded samples. */
function drawn(logits: number[], opts: Parameters<typeof sample>[1], n = 2000): Set<number> {
  kn.manualSeed(1);
  const s = new Set<number>();
  for (let i = 0; i < n; i++) s.add(sample(logits, opts));
  return s;
}

describe('sampling distribution', () => {
  // probabilities 0.5, 0.25, 0.15, 0.1 as logits (shifted: only differences matter)
  const p = [0.5, 0.25, 0.15, 0.1], logits = p.map((x) => Math.log(x) + 3);

  it('temperature 1 is the softmax; temperature 2 flattens it to p^(1/2), renormalised', () => {
    expectProbs(samplingProbabilities(logits), p);
    const r = p.map(Math.sqrt), s = r.reduce((a, b) => a + b);
    expectProbs(samplingProbabilities(logits, { temperature: 2 }), r.map((x) => x / s));
  });

  it('top-k keeps exactly the k largest logits, renormalised', () => {
    const l = [2, 1, 0, -1, 3];
    // e^3 / (e^3 + e^2) and e^2 / (e^3 + e^2)
    const a = 1 / (1 + Math.exp(-1));
    expectProbs(samplingProbabilities(l, { topK: 2 }), [1 - a, 0, 0, 0, a]);
    expect(drawn(l, { topK: 2 })).toEqual(new Set([0, 4]));
    expectProbs(samplingProbabilities(l, { topK: 1 }), [0, 0, 0, 0, 1]);
    expectProbs(samplingProbabilities(l, { topK: 5 }), Array.from(samplingProbabilities(l)));
    // ties with the k-th logit are kept (Hugging Face and nanoGPT do the same)
    expectProbs(samplingProbabilities([1, 2, 2, 0], { topK: 1 }), [0, 0.5, 0.5, 0]);
  });

  it('top-p keeps the smallest most-likely set reaching p, renormalised', () => {
    expectProbs(samplingProbabilities(logits, { topP: 0.7 }), [2 / 3, 1 / 3, 0, 0]);
    expect(drawn(logits, { topP: 0.7 })).toEqual(new Set([0, 1]));
    expectProbs(samplingProbabilities(logits, { topP: 0.45 }), [1, 0, 0, 0]);
    expectProbs(samplingProbabilities(logits, { topP: 0.8 }), [0.5 / 0.9, 0.25 / 0.9, 0.15 / 0.9, 0]);
    expectProbs(samplingProbabilities(logits, { topP: 1 }), p);
  });

  it('temperature, then top-k, then top-p', () => {
    // p^(1/2) = [.707, .5, .387, .316]; top-3 then top-p 0.7 keeps the first two: [√2, 1] / (1 + √2)
    expectProbs(samplingProbabilities(logits, { temperature: 2, topK: 3, topP: 0.7 }), [Math.SQRT2 / (1 + Math.SQRT2), 1 / (1 + Math.SQRT2), 0, 0]);
    expect(drawn(logits, { temperature: 2, topK: 3, topP: 0.7 })).toEqual(new Set([0, 1]));
  });

  it('draws match the probabilities (2000 seeded draws, within 5 standard errors)', () => {
    kn.manualSeed(2);
    const counts = [0, 0, 0, 0], n = 2000;
    for (let i = 0; i < n; i++) counts[sample(logits)]++;
    p.forEach((q, i) => expect(Math.abs(counts[i] / n - q)).toBeLessThan(5 * Math.sqrt((q * (1 - q)) / n)));
  });

  it('temperature 0 is the argmax, whatever the generator', () => {
    const l = [0.3, -1, 2.5, 2.4, 0];
    expect(argmax(l)).toBe(2);
    expectProbs(samplingProbabilities(l, { temperature: 0 }), [0, 0, 1, 0, 0]);
    for (let i = 0; i < 20; i++) expect(sample(l, { temperature: 0, generator: () => i / 20 })).toBe(2);
  });

  it('the same generator state gives the same draws; a passed generator is used', () => {
    const l = [0, 0.1, 0.2, 0.3, 0.4, 0.5];
    const run = () => { kn.manualSeed(7); return Array.from({ length: 50 }, () => sample(l, { temperature: 1.5 })); };
    expect(run()).toEqual(run());
    expect(sample(l, { generator: () => 0 })).toBe(0);
    expect(sample(l, { generator: () => 0.999999 })).toBe(5);
  });

  it('refuses bad options with clear errors', () => {
    expect(() => samplingProbabilities([1, 2], { topK: 0 })).toThrow(/topK must be an integer >= 1, got 0/);
    expect(() => samplingProbabilities([1, 2], { topK: 1.5 })).toThrow(/topK must be an integer >= 1, got 1.5/);
    expect(() => samplingProbabilities([1, 2], { topP: 0 })).toThrow(/topP must be in \(0, 1\], got 0/);
    expect(() => samplingProbabilities([1, 2], { topP: 1.2 })).toThrow(/topP must be in \(0, 1\], got 1.2/);
    expect(() => samplingProbabilities([1, 2], { temperature: -0.5 })).toThrow(/temperature must be a finite number >= 0 \(0 is greedy\), got -0.5/);
    expect(() => sample([], {})).toThrow(/logits are empty/);
  });
});

describe('generate and the KV cache (a random 2-layer GPT)', () => {
  const V = 13, blockSize = 10;
  let model: GPT;
  beforeAll(() => {
    kn.manualSeed(0);
    model = new GPT({ vocabSize: V, blockSize, nLayer: 2, nHead: 2, nEmbd: 16 });
    model.eval();
  });
  const fullLogits = async (seq: number[]) => await model.forward(kn.tensor(Int32Array.from(seq), [1, seq.length], { dtype: 'int32' })).data() as Float32Array;

  it('decoding through the cache gives the logits of the full sequence at every position', async () => {
    const seq = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
    const full = await fullLogits(seq);
    const decoder = new Decoder(model);
    const rows = [await decoder.prefill(seq.slice(0, 4))];
    for (let t = 4; t < seq.length; t++) rows.push(await decoder.next(seq[t]));
    expect(decoder.length).toBe(seq.length);
    let worst = 0;
    rows.forEach((r, j) => {
      const t = j + 3; // the prefill returns the logits after token 3
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(r[v] - full[t * V + v]));
    });
    // float32: the same sums, the masked keys add exact zeros; measured 0
    expect(worst).toBeLessThan(1e-5);
    await expect(decoder.next(0)).rejects.toThrow(/the cache is full \(maxLen 10 tokens\)/);
    decoder.dispose();
  });

  it('a second prefill reuses the cache: stale rows past the new prompt are masked out', async () => {
    const decoder = new Decoder(model);
    await decoder.prefill([1, 2, 3, 4, 5, 6]);
    await decoder.next(7);
    const a = await decoder.prefill([8, 9]);
    const b = await decoder.next(10);
    const full = await fullLogits([8, 9, 10]);
    for (let v = 0; v < V; v++) {
      expect(a[v]).toBeCloseTo(full[V + v], 5);
      expect(b[v]).toBeCloseTo(full[2 * V + v], 5);
    }
    decoder.dispose();
  });

  it('temperature 0 is greedy decoding: the argmax of the full forward pass at each step, the context cropped to its last half when full', async () => {
    const prompt = [2, 7, 1], n = 12; // 3 + 12 tokens overflow the context of 10 once
    const tokens = await generate(model, prompt, n, { temperature: 0 });
    let context = prompt.slice();
    const expected: number[] = [];
    for (let i = 0; i < n; i++) {
      const full = await fullLogits(context);
      const next = argmax(full.subarray((context.length - 1) * V, context.length * V));
      expected.push(next);
      context.push(next);
      if (context.length > blockSize) context = context.slice(-blockSize / 2);
    }
    expect(tokens).toEqual(expected);
  });

  it('the same seed gives the same tokens, another seed other tokens; onToken streams them', async () => {
    const run = async (seed: number) => { kn.manualSeed(seed); return generate(model, [0, 5], 8, { temperature: 2, topK: 8 }); };
    const a = await run(11), b = await run(11), c = await run(12);
    expect(a).toHaveLength(8);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    const streamed: number[] = [];
    kn.manualSeed(11);
    await generate(model, [0, 5], 8, { temperature: 2, topK: 8, onToken: (t) => streamed.push(t) });
    expect(streamed).toEqual(a);
    for (const t of a) expect(t >= 0 && t < V).toBe(true);
  });

  it('refuses bad arguments with clear errors', async () => {
    await expect(generate(model, [1], 3, { topK: 0 })).rejects.toThrow(/generate: topK must be an integer >= 1/);
    await expect(generate(model, [1], 3, { topP: 1.5 })).rejects.toThrow(/generate: topP must be in \(0, 1\]/);
    await expect(generate(model, [1], 3, { temperature: -1 })).rejects.toThrow(/generate: temperature must be a finite number >= 0/);
    await expect(generate(model, [], 3)).rejects.toThrow(/the prompt is empty/);
    await expect(generate(model, [1], -1)).rejects.toThrow(/maxNewTokens must be a non-negative integer, got -1/);
    await expect(generate(model, new Array(11).fill(1), 1)).rejects.toThrow(/the prompt has 11 tokens, longer than the cache \(maxLen 10\)/);
    expect(await generate(model, new Array(10).fill(1), 3)).toHaveLength(3);
    await expect(new Decoder(model).next(1)).rejects.toThrow(/call prefill\(prompt\) first/);
    expect(() => model.newCache().attend(0, kn.zeros([1, 2, 2, 8]), kn.zeros([1, 2, 2, 8]), kn.zeros([1, 2, 2, 8]), 3)).toThrow(/a prompt \(prefill\) starts at position 0, got 3/);
    expect(() => model.newCache().attend(0, kn.zeros([1, 2, 1, 8]), kn.zeros([1, 2, 1, 4]), kn.zeros([1, 2, 1, 8]), 0)).toThrow(/key must have shape \[batchSize, numHeads, T, headDim\] = \[1, 2, 1, 8\], got \[1, 2, 1, 4\]/);
  });
});
