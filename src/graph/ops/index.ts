// The op table: every op Kiln has, one entry each (shape and dtype rule, float64 reference,
// gradient, lowering; see types.ts), gathered from one file per family. Nodes are built
// through `node()`, which runs the entry's rule: no caller passes a shape.
import { Node } from '../ir.js';
import type { OpDef, Family } from './types.js';
import { ELEMENTWISE } from './elementwise.js';
import { VIEW_OPS } from './view.js';
import { SOURCE_OPS, ASSIGN_OPS } from './source.js';
import { REDUCE_OPS } from './reduce.js';
import { MATMUL_OPS } from './matmul.js';
import { ROWS_OPS } from './rows.js';
import { ORDER_OPS } from './order.js';
import { ATTENTION_OPS } from './attention.js';

const TABLE = { ...ELEMENTWISE, ...VIEW_OPS, ...SOURCE_OPS, ...ASSIGN_OPS, ...REDUCE_OPS, ...MATMUL_OPS, ...ROWS_OPS, ...ORDER_OPS, ...ATTENTION_OPS };

export type OpName = keyof typeof TABLE;
/** Each op's attributes, as its entry declares them. */
export type OpAttrs = { [K in OpName]: (typeof TABLE)[K] extends OpDef<infer A> ? A : never };
export const OPS: { readonly [K in OpName]: OpDef<OpAttrs[K]> } = TABLE;

export function isOp(name: string): name is OpName { return Object.prototype.hasOwnProperty.call(OPS, name); }

/** The entry of a node's op. */
export function opOf(n: { op: string }): OpDef<any> {
  if (!isOp(n.op)) throw new Error(`internal: unknown op '${n.op}' (a Kiln bug)`);
  return OPS[n.op];
}

export const familyOf = (n: { op: string }): Family => opOf(n).family;

/** A node of op `op` whose shape and dtype come from the op's rule. */
export function node<K extends OpName>(op: K, inputs: Node[], attrs: OpAttrs[K]): Node {
  const { shape, dtype } = (OPS[op] as OpDef<OpAttrs[K]>).infer(inputs, attrs);
  return new Node(op, inputs, attrs as Record<string, any>, shape, dtype);
}

export type { OpDef, Family };
