// Page: TensorFlow.js (tfjs-core + the WebGPU backend).
import * as tf from '@tensorflow/tfjs-core';
// @ts-ignore: a side-effect module without its own types entry
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tfjs-core alone registers no gradients
import '@tensorflow/tfjs-backend-webgpu';
import { adapterInfo, expose, matmulInputs, MLP, mlpData, mlpParams, timeMatmul, timeMlp } from './common';

let ready: Promise<void> | undefined;
function init(): Promise<void> {
  ready ??= (async () => {
    if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
    await tf.ready();
    if (tf.getBackend() !== 'webgpu') throw new Error(`TF.js backend is ${tf.getBackend()}, not webgpu`);
  })();
  return ready;
}

expose({
  adapter: adapterInfo,
  async matmul(n, o) {
    await init();
    const { a, b } = matmulInputs(n);
    const A = tf.tensor2d(a, [n, n]), B = tf.tensor2d(b, [n, n]);
    try {
      return await timeMatmul(n, async (k) => {
        let x: tf.Tensor = A;
        for (let i = 0; i < k; i++) {
          const y = tf.matMul(x, B);
          if (x !== A) x.dispose();
          x = y;
        }
        await x.data();
        x.dispose();
      }, o);
    } finally {
      A.dispose(); B.dispose();
    }
  },
  mlp: (o) => timeMlp(async () => {
    await init();
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
      note: 'tf.train.adam, tf.losses.softmaxCrossEntropy on one-hot labels',
    };
  }, o),
});
