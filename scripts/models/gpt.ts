// --model gpt: the character-level GPT of demo/char_gpt.ts trained on Alice's Adventures in
// Wonderland (demo/data/alice.txt) with AdamW and cosine decay. An epoch is a fixed number of
// steps on random windows of the training text; after each, the loss on fixed validation
// windows. Then a seeded sample (temperature 0.8, top-k 10) through the KV cache.
import * as kn from '../../src/index.ts';
import { generate } from '../../src/layers/generation.ts';
import { writeChartsPNG } from '../../src/train/plot_node.ts';
import { GPT, CharCorpus, trainStep, meanLoss } from '../../demo/char_gpt.ts';
import path from 'node:path';
import fs from 'node:fs';
import type { Recipe } from './recipe.ts';

const CONFIG = { blockSize: 64, nLayer: 2, nHead: 4, nEmbd: 64 };
const STEPS_PER_EPOCH = 50;
const VAL_BATCHES = 10;
const PROMPT = 'Alice ';
const SAMPLE_LENGTH = 300;

export const gpt: Recipe = {
  defaults: { epochs: 16, batchSize: 32, lr: 3e-3 },
  async run({ epochs, batchSize, lr, seed, outDir }) {
    const text = fs.readFileSync(new URL('../../demo/data/alice.txt', import.meta.url), 'utf8');
    const corpus = new CharCorpus(text);
    console.log(`Alice's Adventures in Wonderland: ${text.length} characters, ${corpus.vocabSize} distinct; ${corpus.train.length} to train on, ${corpus.val.length} to validate`);
    kn.manualSeed(seed);
    const model = new GPT({ vocabSize: corpus.vocabSize, ...CONFIG });
    const params = model.parameters().reduce((n, p) => n + p.numel(), 0);
    console.log(`GPT: ${CONFIG.nLayer} layers, ${CONFIG.nHead} heads, width ${CONFIG.nEmbd}, context ${CONFIG.blockSize}: ${params} parameters; ${batchSize} windows per step`);
    const opt = new kn.optim.AdamW(model.parameters(), { lr });
    const cosine = new kn.optim.lrScheduler.CosineAnnealingLR(opt, epochs * STEPS_PER_EPOCH);
    const step = trainStep(model, opt);
    const evalLoss = kn.compile((x: kn.Tensor, y: kn.Tensor) => kn.noGrad(() => model.loss(x, y)));
    const nextTrain = corpus.batches('train', batchSize, CONFIG.blockSize, seed);
    const history: Record<string, number[]> = { loss: [], valLoss: [] };
    const trainStart = performance.now();
    for (let epoch = 1; epoch <= epochs; epoch++) {
      model.train();
      const bar = new kn.train.ProgressBar({ total: STEPS_PER_EPOCH, label: `epoch ${epoch}/${epochs}` });
      const t0 = performance.now();
      let sum = 0;
      for (let s = 1; s <= STEPS_PER_EPOCH; s++) {
        const { x, y } = nextTrain();
        const loss = await step(x, y);
        const value = await loss.item();
        x.dispose(); y.dispose(); loss.dispose();
        cosine.step();
        sum += value;
        bar.update(s, { loss: value, 'tok/s': (s * batchSize * CONFIG.blockSize * 1000) / (performance.now() - t0) });
      }
      model.eval();
      // the same validation windows every epoch
      const valLoss = await meanLoss(evalLoss, corpus.batches('val', batchSize, CONFIG.blockSize, 1), VAL_BATCHES);
      history.loss.push(sum / STEPS_PER_EPOCH);
      history.valLoss.push(valLoss);
      bar.finish({ loss: sum / STEPS_PER_EPOCH, valLoss });
    }
    const trainSecs = (performance.now() - trainStart) / 1000;
    console.log(`validation loss ${history.valLoss[history.valLoss.length - 1].toFixed(3)} (nats per character) after ${epochs * STEPS_PER_EPOCH} steps`);
    console.log(`training took ${trainSecs.toFixed(1)} s (${((trainSecs * 1000) / (epochs * STEPS_PER_EPOCH)).toFixed(0)} ms per step including validation)`);
    fs.mkdirSync(outDir, { recursive: true });
    const plot = path.resolve(outDir, 'alice_gpt.png');
    writeChartsPNG(plot, kn.train.historyCharts(history, 'char GPT '));
    console.log(`plot written to ${plot}`);

    kn.manualSeed(seed);
    const t0 = performance.now();
    const tokens = await generate(model, corpus.encode(PROMPT), SAMPLE_LENGTH, { temperature: 0.8, topK: 10 });
    const secs = (performance.now() - t0) / 1000;
    console.log(`sample (seed ${seed}, temperature 0.8, top-k 10, ${SAMPLE_LENGTH} characters in ${secs.toFixed(1)} s):\n${PROMPT}${corpus.decode(tokens)}`);
  },
};
