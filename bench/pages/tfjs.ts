// Page: TensorFlow.js (tfjs-core + the WebGPU backend).
import * as tf from '@tensorflow/tfjs-core';
// @ts-ignore: a side-effect module without its own types entry
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core alone registers no gradients
import '@tensorflow/tfjs-backend-webgpu';
import { conv2DBackpropFilter } from '@tensorflow/tfjs-core/dist/ops/conv2d_backprop_filter';
import { conv2DBackpropInput } from '@tensorflow/tfjs-core/dist/ops/conv2d_backprop_input';
import {
  adapterInfo, ATTN, attnInputs, attnShape, CNN, cnnData, cnnParams, CONV_SHAPES, convFlops, convInputs, convOutShape, ENCODER, encoderInput,
  encoderStateDict, expose, head4, matmulInputs, MLP, mlpData, mlpInferInput, mlpParams, nchwToNhwc, oihwToHwio, timeChain, timeMatmul, timeMlp,
  transpose, type TimingOpts,
} from './common';

let ready: Promise<void> | undefined;
function init(): Promise<void> {
  ready ??= (async () => {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    await tf.ready();
    if (tf.getBackend() !== 'webgpu') throw new Error(`TF.js backend is ${tf.getBackend()}, not webgpu`);
  })();
  return ready;
}

const nhwc = ([N, C, H, W]: number[]): [number, number, number, number] => [N, H, W, C];

/**
 * The CNN in tfjs-core ops, NHWC (TF.js's native layout; its maxPool has no NCHW). Same initial
 * weights as the others: conv weights as HWIO, dense 1 with its input rows permuted from NCHW to
 * NHWC flatten order, so the model computes the same function.
 */
function cnnModel() {
  const p = cnnParams();
  const conv = (w: Float32Array, shape: number[]) => tf.variable(tf.tensor4d(oihwToHwio(w, shape), [shape[2], shape[3], shape[1], shape[0]]));
  // fc1 [128, 3136 (c*49 + h*7 + w)] -> [3136 ((h*7 + w)*64 + c), 128]
  const fc1 = new Float32Array(p.fc1.length);
  for (let o = 0; o < 128; o++) for (let c = 0; c < 64; c++) for (let hw = 0; hw < 49; hw++) fc1[(hw * 64 + c) * 128 + o] = p.fc1[o * 3136 + c * 49 + hw];
  const params = {
    c1w: conv(p.conv1, p.shapes.conv1), c1b: tf.variable(tf.zeros([32])), g1: tf.variable(tf.ones([32])), be1: tf.variable(tf.zeros([32])),
    c2w: conv(p.conv2, p.shapes.conv2), c2b: tf.variable(tf.zeros([64])), g2: tf.variable(tf.ones([64])), be2: tf.variable(tf.zeros([64])),
    f1w: tf.variable(tf.tensor2d(fc1, [3136, 128])), f1b: tf.variable(tf.zeros([128])),
    f2w: tf.variable(tf.tensor2d(transpose(p.fc2, 10, 128), [128, 10])), f2b: tf.variable(tf.zeros([10])),
  };
  const stats = {
    rm1: tf.variable(tf.zeros([32]), false), rv1: tf.variable(tf.ones([32]), false),
    rm2: tf.variable(tf.zeros([64]), false), rv2: tf.variable(tf.ones([64]), false),
  };
  const block = (x: tf.Tensor4D, w: tf.Variable, b: tf.Variable, g: tf.Variable, be: tf.Variable, rm: tf.Variable, rv: tf.Variable, training: boolean) => {
    let h = tf.add(tf.conv2d(x, w as tf.Tensor4D, 1, 1), b) as tf.Tensor4D;
    if (training) {
      const { mean, variance } = tf.moments(h, [0, 1, 2]);
      const n = h.size / h.shape[3];
      rm.assign(tf.add(tf.mul(rm, 1 - CNN.momentum), tf.mul(mean, CNN.momentum)));
      rv.assign(tf.add(tf.mul(rv, 1 - CNN.momentum), tf.mul(variance, (CNN.momentum * n) / (n - 1))));
      h = tf.batchNorm(h, mean, variance, be, g, CNN.eps) as tf.Tensor4D;
    } else {
      h = tf.batchNorm(h, rm, rv, be, g, CNN.eps) as tf.Tensor4D;
    }
    return tf.maxPool(tf.relu(h), 2, 2, 'valid');
  };
  const forward = (x: tf.Tensor4D, training: boolean) => {
    const P = params, S = stats;
    const h1 = block(x, P.c1w, P.c1b, P.g1, P.be1, S.rm1, S.rv1, training);
    const h2 = block(h1, P.c2w, P.c2b, P.g2, P.be2, S.rm2, S.rv2, training);
    const f = tf.relu(tf.add(tf.matMul(tf.reshape(h2, [x.shape[0], 3136]), P.f1w), P.f1b));
    return tf.add(tf.matMul(f, P.f2w), P.f2b);
  };
  const note = 'tfjs-core ops, NHWC: conv2d + tf.moments + tf.batchNorm + relu + maxPool';
  return { params, stats, forward, note };
}

/**
 * A case's GPU memory (bench/README.md, "Memory"): the peak bytes of live tensors during one more
 * call of `call` after the timed ones (tf.profile's peakBytes: inputs, weights, optimizer state,
 * every tensor the call keeps alive until its tf.tidy ends, its result) less the bytes live when the
 * case began (`base`, tf.memory().numBytes). The call's result is disposed.
 */
async function peakOf(base: number, call: () => tf.TensorContainer | null): Promise<number> {
  let out: tf.TensorContainer | null = null;
  const prof = await tf.profile(() => { out = call(); });
  if (out) tf.dispose(out);
  return prof.peakBytes - base;
}
const liveBytes = () => tf.memory().numBytes;
const MEMORY_NOTE = "memory: tf.profile's peakBytes of one more call less tf.memory().numBytes before the case (live tensors' bytes, not the backend's buffer pool)";

/** Times `call` (run under tf.tidy) repeated k times, reading back the last result's first tensor. */
async function timeTidy(call: () => tf.Tensor[], o: TimingOpts) {
  let sample = '';
  const t = await timeChain(async (k) => {
    let out: tf.Tensor[] = [];
    for (let j = 0; j < k; j++) {
      for (const a of out) a.dispose();
      out = tf.tidy(call);
    }
    sample = head4(await out[0].data());
    for (const a of out) a.dispose();
  }, o);
  return { ...t, sample };
}

const scaledAttention = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, scale: number) => tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v);

/** torch.nn.TransformerEncoderLayer's eval forward (post-norm, relu, batch first) in tfjs-core ops, PyTorch-layout weights. */
function encoderForward(w: Record<string, tf.Tensor>, x: tf.Tensor3D): tf.Tensor {
  const { dModel: D, heads: H, eps } = ENCODER;
  const [B, S] = x.shape;
  const linear = (h: tf.Tensor2D, n: string) => tf.add(tf.matMul(h, w[`${n}.weight`] as tf.Tensor2D, false, true), w[`${n}.bias`]) as tf.Tensor2D;
  const norm = (h: tf.Tensor2D, n: string) => {
    const { mean, variance } = tf.moments(h, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, eps))), w[`${n}.weight`]), w[`${n}.bias`]) as tf.Tensor2D;
  };
  const x2 = tf.reshape(x, [B * S, D]) as tf.Tensor2D;
  const qkv = tf.add(tf.matMul(x2, w['self_attn.in_proj_weight'] as tf.Tensor2D, false, true), w['self_attn.in_proj_bias']);
  const head = (i: number) => tf.transpose(tf.reshape(tf.slice(qkv, [0, i * D], [B * S, D]), [B, S, H, D / H]), [0, 2, 1, 3]);
  const a = tf.reshape(tf.transpose(scaledAttention(head(0), head(1), head(2), 1 / Math.sqrt(D / H)), [0, 2, 1, 3]), [B * S, D]) as tf.Tensor2D;
  const h = norm(tf.add(x2, linear(a, 'self_attn.out_proj')), 'norm1');
  const ff = linear(tf.relu(linear(h, 'linear1')), 'linear2');
  return tf.reshape(norm(tf.add(h, ff), 'norm2'), [B, S, D]);
}

expose({
  adapter: adapterInfo,
  async mlpInfer(batch, o) {
    await init();
    const base = liveBytes();
    const [w1, b1, w2, b2, w3, b3] = mlpParams().flatMap((p) => [tf.tensor2d(p.w, [p.fanIn, p.fanOut]), tf.tensor1d(p.b)]);
    const x = tf.tensor2d(mlpInferInput(batch), [batch, 784]);
    const forward = () => {
      const h1 = tf.relu(tf.add(tf.matMul(x, w1), b1));
      const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2));
      return [tf.add(tf.matMul(h2, w3), b3)];
    };
    try {
      const t = await timeTidy(forward, o);
      return {
        batch, msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: await peakOf(base, () => tf.tidy(forward)),
        note: `tf.matMul + tf.add + tf.relu, tf.tidy; ${MEMORY_NOTE}; ${t.sample}`,
      };
    } finally {
      tf.dispose([w1, b1, w2, b2, w3, b3, x]);
    }
  },
  async encoder(o) {
    await init();
    const base = liveBytes();
    const w = Object.fromEntries(Object.entries(encoderStateDict()).map(([k, t]) => [k, tf.tensor(t.data, t.shape)]));
    const x = tf.tensor3d(encoderInput(), [ENCODER.batch, ENCODER.seq, ENCODER.dModel]);
    try {
      const forward = () => [encoderForward(w, x)];
      const t = await timeTidy(forward, o);
      return {
        batch: ENCODER.batch, msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: await peakOf(base, () => tf.tidy(forward)),
        note: `tfjs-core ops (matMul, softmax, moments), tf.tidy; ${MEMORY_NOTE}; ${t.sample}`,
      };
    } finally {
      tf.dispose([...Object.values(w), x]);
    }
  },
  async attention(seq, dir, o) {
    await init();
    const base = liveBytes();
    const shape = attnShape(seq), d = attnInputs(seq);
    const [q, k, v, r] = [d.q, d.k, d.v, d.r].map((a) => tf.tensor(a, shape));
    const scale = 1 / Math.sqrt(ATTN.headDim);
    const grads = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => scaledAttention(q, k, v, scale));
    // backward: the gradients of sum(attention * r) are the vector-Jacobian product with dy = r
    const call = dir === 'fwd' ? () => [scaledAttention(q, k, v, scale)] : () => grads([q, k, v], r);
    try {
      const t = await timeTidy(call, o);
      return {
        msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: await peakOf(base, () => tf.tidy(call)),
        note: `tf.matMul(tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale)), v)${dir === 'fwd' ? '' : ' under tf.grads (dy = r)'}; peak: ${MEMORY_NOTE}, q k v r included; ${t.sample}`,
      };
    } finally {
      tf.dispose([q, k, v, r]);
    }
  },
  async conv(i, dir, o) {
    await init();
    const base = liveBytes();
    const s = CONV_SHAPES[i];
    const d = convInputs(s);
    const wShape = [s.oc, s.x[1], s.k, s.k];
    const x = tf.tensor4d(nchwToNhwc(d.x, s.x), nhwc(s.x));
    const w = tf.tensor4d(oihwToHwio(d.w, wShape), [s.k, s.k, s.x[1], s.oc]);
    const r = tf.tensor4d(nchwToNhwc(d.r, convOutShape(s)), nhwc(convOutShape(s)));
    // The gradients of sum(conv(x, w) * r) are the two backprop ops with dy = r: what tf.grads runs
    // for conv2d, without the forward conv that eager tf.grads would also record.
    const call = dir === 'fwd'
      ? () => [tf.conv2d(x, w, 1, s.pad)]
      : () => [conv2DBackpropInput(x.shape, r, w, 1, s.pad), conv2DBackpropFilter(x, r, w.shape, 1, s.pad)];
    try {
      const t = await timeChain(async (k) => {
        let out: tf.Tensor[] = [];
        for (let j = 0; j < k; j++) {
          for (const a of out) a.dispose();
          out = call();
        }
        await out[0].data();
        for (const a of out) a.dispose();
      }, o);
      const flops = convFlops(s) * (dir === 'fwd' ? 1 : 2);
      return {
        gflops: flops / (t.ms * 1e6), msPerCall: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: await peakOf(base, call),
        note: `${dir === 'fwd' ? 'tf.conv2d, NHWC' : 'conv2DBackpropInput + conv2DBackpropFilter (dy = r), NHWC'}; ${MEMORY_NOTE}`,
      };
    } finally {
      x.dispose(); w.dispose(); r.dispose();
    }
  },
  cnn: (o) => timeMlp(async () => {
    await init();
    const base = liveBytes();
    const { x: xd, yOneHot } = cnnData();
    const x = tf.tensor4d(xd, [CNN.batch, 28, 28, 1]); // C = 1: NCHW and NHWC are the same data
    const y = tf.tensor2d(yOneHot, [CNN.batch, 10]);
    const { params, forward, note } = cnnModel();
    const vars = Object.values(params);
    const opt = tf.train.adam(CNN.lr);
    await Promise.all(vars.map((p) => p.data()));
    let last: tf.Scalar | null = null;
    const minimize = () => opt.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x, true)) as tf.Scalar, true, vars);
    return {
      step() {
        const cost = minimize();
        last?.dispose();
        last = cost;
      },
      async sync() { return (await last!.data())[0]; },
      memory: () => peakOf(base, minimize), // the last loss alive, as in the timed steps
      note: `${note}; tf.train.adam, tf.losses.softmaxCrossEntropy on one-hot labels; ${MEMORY_NOTE}`,
    };
  }, o),
  async cnnInfer(batch, o) {
    await init();
    const base = liveBytes();
    const { params, stats, forward, note } = cnnModel();
    const x = tf.tensor4d(cnnData(batch).x, [batch, 28, 28, 1]);
    try {
      const t = await timeChain(async (k) => {
        let out: tf.Tensor | undefined;
        for (let j = 0; j < k; j++) {
          out?.dispose();
          out = tf.tidy(() => forward(x, false));
        }
        await out!.data();
        out!.dispose();
      }, o);
      return {
        batch, msPerForward: t.ms, chain: t.chain, reps: t.reps, samplesMs: t.samplesMs, firstMs: t.firstMs, peakBytes: await peakOf(base, () => tf.tidy(() => forward(x, false))),
        note: `${note}; running statistics, tf.tidy; ${MEMORY_NOTE}`,
      };
    } finally {
      tf.dispose([x, ...Object.values(params), ...Object.values(stats)]);
    }
  },
  async matmul(n, o) {
    await init();
    const base = liveBytes();
    const { a, b } = matmulInputs(n);
    const A = tf.tensor2d(a, [n, n]), B = tf.tensor2d(b, [n, n]);
    try {
      const r = await timeMatmul(n, async (k) => {
        let x: tf.Tensor = A;
        for (let i = 0; i < k; i++) {
          const y = tf.matMul(x, B);
          if (x !== A) x.dispose();
          x = y;
        }
        await x.data();
        x.dispose();
      }, o, MEMORY_NOTE);
      return { ...r, peakBytes: await peakOf(base, () => tf.matMul(A, B)) };
    } finally {
      A.dispose(); B.dispose();
    }
  },
  mlp: (o) => timeMlp(async () => {
    await init();
    const base = liveBytes();
    const { x: xd, yOneHot } = mlpData();
    const x = tf.tensor2d(xd, [MLP.batch, 784]);
    const y = tf.tensor2d(yOneHot, [MLP.batch, 10]);
    const params = mlpParams().flatMap((p) => [
      tf.variable(tf.tensor2d(p.w, [p.fanIn, p.fanOut])),
      tf.variable(tf.tensor1d(p.b)),
    ]);
    const [w1, b1, w2, b2, w3, b3] = params;
    const opt = tf.train.adam(MLP.lr);
    const forwardLoss = () => {
      const h1 = tf.relu(tf.add(tf.matMul(x, w1), b1));
      const h2 = tf.relu(tf.add(tf.matMul(h1, w2), b2));
      const logits = tf.add(tf.matMul(h2, w3), b3);
      return tf.losses.softmaxCrossEntropy(y, logits) as tf.Scalar;
    };
    await Promise.all(params.map((p) => p.data())); // uploads done before the first step
    let last: tf.Scalar | null = null;
    return {
      step() {
        const cost = opt.minimize(forwardLoss, true, params);
        last?.dispose();
        last = cost;
      },
      async sync() { return (await last!.data())[0]; },
      memory: () => peakOf(base, () => opt.minimize(forwardLoss, true, params)), // the last loss alive, as in the timed steps
      note: `tf.train.adam, tf.losses.softmaxCrossEntropy on one-hot labels; ${MEMORY_NOTE}`,
    };
  }, o),
});
