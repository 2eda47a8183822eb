// --model lstm: Fashion-MNIST read as a sequence of 28 rows of 28 pixels by an LSTM
// (batchFirst); a linear layer classifies the last hidden state.
import * as kn from '../../src/index.ts';
import { trainClassifier } from './fashion_mnist.ts';
import type { Recipe } from './recipe.ts';

type Tensor = kn.Tensor;
const nn = kn.nn;

class RowLSTM extends nn.Module {
  lstm: InstanceType<typeof nn.LSTM>;
  fc: InstanceType<typeof nn.Linear>;
  constructor(hidden: number) {
    super();
    this.lstm = new nn.LSTM(28, hidden, { batchFirst: true });
    this.fc = new nn.Linear(hidden, 10);
  }
  /** x [B, 28 rows, 28 pixels] -> logits [B, 10] */
  forward(x: Tensor): Tensor {
    const [, [hN]] = this.lstm.forward(x);
    return this.fc.forward(hN.squeeze(0));
  }
}

export const lstm: Recipe = {
  defaults: { epochs: 1, batchSize: 128, lr: 2e-3 },
  run: (opts) => trainClassifier('lstm', () => new RowLSTM(128), opts, [28, 28]),
};
