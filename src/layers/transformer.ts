// The Transformer layers, as torch.nn.TransformerEncoderLayer & co.
export { MultiheadAttention } from './mha.js';
