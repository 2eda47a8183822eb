// Checkpoints: a model's state dict, an optimizer's state, a scheduler's state and user data
// in one safetensors file. Browser-safe: in Node the file goes to disk (checkpoint_node.ts,
// reached only there); in a browser to the origin-private file system (OPFS), or IndexedDB
// where OPFS is missing.
//
// File layout (a plain safetensors file; PyTorch's safetensors.torch.load_file reads it):
//   tensors   model.<state-dict key>               the model's parameters and buffers
//             optimizer.state.<i>.<name>           each Tensor in optimizer state i
//   __metadata__ (strings)
//             format          "kiln.checkpoint"
//             format_version  "1"
//             optimizer       JSON {state: {i: {non-tensor values}}, param_groups: [...]}
//             scheduler       JSON of scheduler.stateDict()
//             extra           JSON of the user's `extra`
//             checksum        "crc32:<8 hex>" of the canonical header JSON (without this
//                             entry) followed by the data section
import type { Tensor } from '../graph/tensor.js';
import type { AnyModule } from '../layers/module.js';
import { shapeStr } from '../graph/ir.js';
import {
  encodeSafetensors, parseSafetensorsHeader, decodeSafetensors, toSafeTensor, fromSafeTensor,
  type SafeTensor, type SafeHeader,
} from './safetensors.js';
import { writeFileAtomic, readFileBytes } from './checkpoint_node.js';

export const CHECKPOINT_FORMAT = 'kiln.checkpoint';
export const CHECKPOINT_VERSION = '1';
const CHECKSUM_KEY = 'checksum';

/** What a checkpoint needs from an optimizer (PyTorch's state_dict / load_state_dict). */
export interface OptimizerLike {
  stateDict(): OptimizerStateDict | Promise<OptimizerStateDict>;
  loadStateDict(sd: OptimizerStateDict): void | Promise<void>;
  paramGroups?: { params: Tensor[] }[];
}
export interface OptimizerStateDict { state: Record<string | number, Record<string, unknown>>; param_groups: Record<string, unknown>[] }
/** What a checkpoint needs from a learning-rate scheduler: plain-JSON state. */
export interface SchedulerLike { stateDict(): unknown; loadStateDict(sd: any): void | Promise<void> }

export interface CheckpointContents { model: AnyModule; optimizer?: OptimizerLike | null; scheduler?: SchedulerLike | null; extra?: unknown }
export interface CheckpointTargets { model: AnyModule; optimizer?: OptimizerLike | null; scheduler?: SchedulerLike | null; strict?: boolean }
export interface LoadedCheckpoint { extra: unknown; missingKeys: string[]; unexpectedKeys: string[]; metadata: Record<string, string> }
/** Where checkpoints live: 'auto' is the file system in Node, else OPFS, else IndexedDB. */
export type CheckpointBackend = 'auto' | 'file' | 'opfs' | 'indexeddb';

// ------------------------------------------------------------------ CRC-32 (IEEE)

let crcTable: Uint32Array | null = null;
/** CRC-32 (the zlib/PNG polynomial) of `bytes`, continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function checksumOf(h: SafeHeader, bytes: Uint8Array): string {
  const obj = JSON.parse(h.headerText);
  if (obj.__metadata__) delete obj.__metadata__[CHECKSUM_KEY];
  const c = crc32(bytes.subarray(h.dataStart), crc32(new TextEncoder().encode(JSON.stringify(obj))));
  return `crc32:${c.toString(16).padStart(8, '0')}`;
}

const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && typeof (v as Tensor).data === 'function' && Array.isArray((v as Tensor).shape) && typeof (v as Tensor).dtype === 'string';

// ------------------------------------------------------------------ encode / decode

/** The checkpoint as safetensors bytes (reads every tensor back from the GPU). */
export async function encodeCheckpoint({ model, optimizer, scheduler, extra }: CheckpointContents): Promise<Uint8Array> {
  if (!model || typeof model.stateDict !== 'function') throw new Error('saveCheckpoint: `model` must be a kn.nn.Module');
  const tensors: Record<string, SafeTensor> = {};
  for (const [k, t] of Object.entries(model.stateDict())) tensors[`model.${k}`] = await toSafeTensor(t, `model.${k}`);
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, format_version: CHECKPOINT_VERSION };
  if (optimizer) {
    if (typeof optimizer.stateDict !== 'function') throw new Error('saveCheckpoint: this optimizer has no stateDict()');
    const sd = await optimizer.stateDict();
    const state: Record<string, Record<string, unknown>> = {};
    for (const [i, s] of Object.entries(sd.state ?? {})) {
      state[i] = {};
      for (const [name, v] of Object.entries(s)) {
        if (isTensor(v)) tensors[`optimizer.state.${i}.${name}`] = await toSafeTensor(v, `optimizer.state.${i}.${name}`);
        else state[i][name] = v;
      }
    }
    metadata.optimizer = jsonOf('optimizer param_groups', { state, param_groups: sd.param_groups });
  }
  if (scheduler) metadata.scheduler = jsonOf('scheduler state', scheduler.stateDict());
  if (extra !== undefined) metadata.extra = jsonOf('extra', extra);
  const draft = encodeSafetensors(tensors, metadata);
  metadata[CHECKSUM_KEY] = checksumOf(parseSafetensorsHeader(draft), draft);
  return encodeSafetensors(tensors, metadata);
}

function jsonOf(what: string, v: unknown): string {
  const s = JSON.stringify(v, (_k, x) => {
    if (isTensor(x)) throw new Error(`saveCheckpoint: ${what} holds a Tensor where plain JSON is expected`);
    if (typeof x === 'number' && !Number.isFinite(x)) return { __float__: String(x) };
    return x;
  });
  if (s === undefined) throw new Error(`saveCheckpoint: ${what} is not JSON-serialisable`);
  return s;
}
const parseJson = (s: string) => JSON.parse(s, (_k, x) => (x && typeof x === 'object' && typeof x.__float__ === 'string' && Object.keys(x).length === 1 ? Number(x.__float__) : x));

export interface DecodedCheckpoint {
  model: Record<string, SafeTensor>;
  optimizer: { state: Record<string, Record<string, unknown>>; param_groups: Record<string, unknown>[]; tensors: Record<string, Record<string, SafeTensor>> } | null;
  scheduler: unknown;
  extra: unknown;
  metadata: Record<string, string>;
}

/** Parses and verifies (format, checksum) checkpoint bytes; no GPU work. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): DecodedCheckpoint {
  let h: SafeHeader;
  try { h = parseSafetensorsHeader(bytes); } catch (e) {
    throw new Error(`loadCheckpoint: ${source} is not a readable checkpoint (corrupt, truncated or not a safetensors file): ${(e as Error).message}`);
  }
  const md = h.metadata;
  if (md.format !== CHECKPOINT_FORMAT) {
    throw new Error(`loadCheckpoint: ${source} is a safetensors file but not a Kiln checkpoint (no format "${CHECKPOINT_FORMAT}" in its metadata); for a plain state dict use stateDictFromBytes and model.loadStateDict`);
  }
  if (md.format_version !== CHECKPOINT_VERSION) throw new Error(`loadCheckpoint: ${source} has checkpoint format version ${md.format_version}; this Kiln reads version ${CHECKPOINT_VERSION}`);
  const stored = md[CHECKSUM_KEY];
  if (!stored) throw new Error(`loadCheckpoint: ${source} has no checksum in its metadata`);
  const actual = checksumOf(h, bytes);
  if (stored !== actual) throw new Error(`loadCheckpoint: ${source} is corrupt: checksum mismatch (stored ${stored}, computed ${actual})`);
  const { tensors } = decodeSafetensors(bytes);
  const model: Record<string, SafeTensor> = {};
  const optTensors: Record<string, Record<string, SafeTensor>> = {};
  for (const [k, t] of Object.entries(tensors)) {
    if (k.startsWith('model.')) model[k.slice(6)] = t;
    else {
      const m = /^optimizer\.state\.([^.]+)\.(.+)$/.exec(k);
      if (!m) throw new Error(`loadCheckpoint: ${source} has an unexpected tensor '${k}'`);
      (optTensors[m[1]] ??= {})[m[2]] = t;
    }
  }
  let optimizer: DecodedCheckpoint['optimizer'] = null;
  if (md.optimizer !== undefined) {
    const o = parseJson(md.optimizer);
    optimizer = { state: o.state ?? {}, param_groups: o.param_groups ?? [], tensors: optTensors };
  } else if (Object.keys(optTensors).length) throw new Error(`loadCheckpoint: ${source} has optimizer tensors but no optimizer metadata`);
  return {
    model, optimizer,
    scheduler: md.scheduler !== undefined ? parseJson(md.scheduler) : undefined,
    extra: md.extra !== undefined ? parseJson(md.extra) : undefined,
    metadata: md,
  };
}

/**
 * Loads decoded checkpoint contents into a model (and optimizer, scheduler). Everything is
 * checked first (keys in strict mode, shapes always, optimizer groups), so a checkpoint that
 * does not fit leaves the model and optimizer as they were.
 */
export async function applyCheckpoint(ck: DecodedCheckpoint, { model, optimizer, scheduler, strict = true }: CheckpointTargets, source = 'checkpoint'): Promise<LoadedCheckpoint> {
  if (!model || typeof model.stateDict !== 'function') throw new Error('loadCheckpoint: `model` must be a kn.nn.Module');
  const own = model.stateDict();
  const missingKeys = Object.keys(own).filter((k) => !(k in ck.model));
  const unexpectedKeys = Object.keys(ck.model).filter((k) => !(k in own));
  const problems: string[] = [];
  if (strict && missingKeys.length) problems.push(`missing keys: ${missingKeys.join(', ')}`);
  if (strict && unexpectedKeys.length) problems.push(`unexpected keys: ${unexpectedKeys.join(', ')}`);
  for (const [k, t] of Object.entries(ck.model)) {
    if (k in own && t.shape.join() !== own[k].shape.join()) problems.push(`size mismatch for ${k}: the checkpoint has shape ${shapeStr(t.shape)}, the model expects ${shapeStr(own[k].shape)}`);
  }
  if (problems.length) throw new Error(`loadCheckpoint: ${source} does not fit this model: ${problems.join('; ')}`);

  let optSd: OptimizerStateDict | null = null;
  if (optimizer) {
    if (!ck.optimizer) throw new Error(`loadCheckpoint: ${source} holds no optimizer state, but an optimizer was given`);
    if (typeof optimizer.loadStateDict !== 'function') throw new Error('loadCheckpoint: this optimizer has no loadStateDict()');
    const o = ck.optimizer;
    const groups = optimizer.paramGroups;
    if (groups) {
      if (groups.length !== o.param_groups.length) throw new Error(`loadCheckpoint: ${source} has ${o.param_groups.length} optimizer parameter groups, the optimizer has ${groups.length}`);
      const params = groups.flatMap((g) => g.params);
      groups.forEach((g, i) => {
        const saved = o.param_groups[i].params;
        if (Array.isArray(saved) && saved.length !== g.params.length) throw new Error(`loadCheckpoint: ${source}: optimizer parameter group ${i} has ${saved.length} parameters, the optimizer's has ${g.params.length}`);
      });
      for (const [i, ts] of Object.entries(o.tensors)) {
        const p = params[Number(i)];
        if (!p) throw new Error(`loadCheckpoint: ${source} has optimizer state for parameter ${i}, the optimizer has ${params.length} parameters`);
        for (const [name, t] of Object.entries(ts)) {
          if (name !== 'step' && t.shape.join() !== p.shape.join()) throw new Error(`loadCheckpoint: ${source}: optimizer state ${name} of parameter ${i} has shape ${shapeStr(t.shape)}, the parameter has ${shapeStr(p.shape)}`);
        }
      }
    }
    const state: OptimizerStateDict['state'] = {};
    for (const i of new Set([...Object.keys(o.state), ...Object.keys(o.tensors)])) {
      state[i] = { ...(o.state[i] ?? {}) };
      for (const [name, t] of Object.entries(o.tensors[i] ?? {})) state[i][name] = fromSafeTensor(t);
    }
    optSd = { state, param_groups: o.param_groups };
  }
  if (scheduler && ck.scheduler === undefined) throw new Error(`loadCheckpoint: ${source} holds no scheduler state, but a scheduler was given`);

  const sd: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(ck.model)) if (k in own) sd[k] = fromSafeTensor(t);
  model.loadStateDict(sd, { strict: false });
  if (optimizer && optSd) await optimizer.loadStateDict(optSd);
  if (scheduler) await scheduler.loadStateDict(ck.scheduler);
  return { extra: ck.extra, missingKeys, unexpectedKeys, metadata: ck.metadata };
}

// ------------------------------------------------------------------ storage

const isNode = () => typeof (globalThis as any).process?.versions?.node === 'string' && typeof (globalThis as any).window === 'undefined';
const nav = () => (globalThis as any).navigator as any;
const hasOPFS = () => typeof nav()?.storage?.getDirectory === 'function' && typeof (globalThis as any).FileSystemFileHandle?.prototype?.createWritable === 'function';

function pickBackend(b: CheckpointBackend): Exclude<CheckpointBackend, 'auto'> {
  if (b !== 'auto') return b;
  if (isNode()) return 'file';
  if (hasOPFS()) return 'opfs';
  if (typeof (globalThis as any).indexedDB !== 'undefined') return 'indexeddb';
  throw new Error('checkpoint: no storage here (no file system, OPFS or IndexedDB)');
}

async function opfsFile(path: string, create: boolean): Promise<any> {
  const parts = path.split('/').filter((p) => p && p !== '.');
  if (!parts.length || parts.includes('..')) throw new Error(`checkpoint: invalid OPFS path '${path}'`);
  let dir = await nav().storage.getDirectory();
  try {
    for (const p of parts.slice(0, -1)) dir = await dir.getDirectoryHandle(p, { create });
    return await dir.getFileHandle(parts[parts.length - 1], { create });
  } catch (e) {
    if ((e as { name?: string }).name === 'NotFoundError') throw new Error(`no checkpoint at ${path} (OPFS)`);
    throw e;
  }
}

const IDB_NAME = 'kiln-checkpoints', IDB_STORE = 'files';
function idbOpen(): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = (globalThis as any).indexedDB.open(IDB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(IDB_STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}
async function idbRun<T>(mode: 'readonly' | 'readwrite', f: (store: any) => any): Promise<T> {
  const db = await idbOpen();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(IDB_STORE, mode);
      const req = f(tx.objectStore(IDB_STORE));
      // resolve once the transaction commits, so a write is durable when this returns
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally { db.close(); }
}

/** Writes bytes where checkpoints live, atomically: readers see the old or the new file. */
export async function writeCheckpointBytes(path: string, bytes: Uint8Array, backend: CheckpointBackend = 'auto'): Promise<void> {
  const b = pickBackend(backend);
  if (b === 'file') return writeFileAtomic(path, bytes);
  if (b === 'opfs') {
    // Chromium writes into a swap file and moves it over the target on close(); abort() drops it
    const fh = await opfsFile(path, true);
    const w = await fh.createWritable({ keepExistingData: false });
    try { await w.write(bytes); } catch (e) { await w.abort().catch(() => {}); throw e; }
    await w.close();
    return;
  }
  await idbRun('readwrite', (s) => s.put(bytes.slice(), path)); // one transaction: all or nothing
}

export async function readCheckpointBytes(path: string, backend: CheckpointBackend = 'auto'): Promise<Uint8Array> {
  const b = pickBackend(backend);
  if (b === 'file') return readFileBytes(path);
  if (b === 'opfs') return new Uint8Array(await (await (await opfsFile(path, false)).getFile()).arrayBuffer());
  const v = await idbRun<any>('readonly', (s) => s.get(path));
  if (v === undefined) throw new Error(`no checkpoint at ${path} (IndexedDB)`);
  return v instanceof Uint8Array ? v : new Uint8Array(v);
}

/**
 * Saves model (+ optimizer, scheduler, extra JSON) to `path`: a file in Node, an OPFS entry
 * in a browser (IndexedDB where OPFS is missing). The write is atomic.
 */
export async function saveCheckpoint(path: string, contents: CheckpointContents, { backend = 'auto' }: { backend?: CheckpointBackend } = {}): Promise<void> {
  await writeCheckpointBytes(path, await encodeCheckpoint(contents), backend);
}

/**
 * Loads a checkpoint written by saveCheckpoint into `model` (and `optimizer`, `scheduler`);
 * returns the saved `extra` and the keys that did not match (non-strict mode). A corrupt,
 * truncated or foreign file is rejected before anything is changed.
 */
export async function loadCheckpoint(path: string, targets: CheckpointTargets, { backend = 'auto' }: { backend?: CheckpointBackend } = {}): Promise<LoadedCheckpoint> {
  const bytes = await readCheckpointBytes(path, backend);
  return applyCheckpoint(decodeCheckpoint(bytes, path), targets, path);
}

