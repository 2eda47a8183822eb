// The safetensors format (https://github.com/huggingface/safetensors), read and written in
// plain TypeScript: an 8-byte little-endian header length N, N bytes of JSON
// `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
// then the raw little-endian tensor bytes (offsets are relative to the end of the header).
// Browser-safe: no node:* imports.
import { Tensor, tensor } from '../graph/tensor.js';
import type { DType } from '../graph/ir.js';

/** safetensors dtype names this module reads (F16 and I64 are converted on read). */
export type SafeDType = 'F32' | 'F16' | 'I32' | 'I64' | 'BOOL' | 'U8';
export type SafeArray = Float32Array | Int32Array | Uint8Array;
export interface SafeTensor { dtype: SafeDType; shape: number[]; data: SafeArray }

const ITEM_SIZE: Record<SafeDType, number> = { F32: 4, F16: 2, I32: 4, I64: 8, BOOL: 1, U8: 1 };
/** dtypes written by encodeSafetensors (F16 and I64 are read-only) */
const WRITABLE: readonly SafeDType[] = ['F32', 'I32', 'BOOL', 'U8'];
const METADATA = '__metadata__';
/** refuse headers above 100 MB, as the reference implementation does */
const MAX_HEADER = 100_000_000;

const fail = (msg: string): never => { throw new Error(`safetensors: ${msg}`); };
const numelOf = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    fail(`tensor '${name}': shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

/**
 * Serialises tensors (in the order given) and string metadata. Data is written F32, I32,
 * BOOL or U8; the header is padded with spaces to a multiple of 8 bytes, as the reference
 * writer does, so every tensor starts 8-byte aligned.
 */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata)) if (typeof v !== 'string') fail(`metadata value for '${k}' must be a string, got ${typeof v}`);
    header[METADATA] = metadata;
  }
  let offset = 0;
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    if (name === METADATA) fail(`'${METADATA}' is reserved and cannot name a tensor`);
    if (!WRITABLE.includes(t.dtype)) fail(`tensor '${name}': cannot write dtype ${t.dtype}; expected one of ${WRITABLE.join(', ')}`);
    const shape = checkShape(name, t.shape);
    const n = numelOf(shape);
    if (t.data.length !== n) fail(`tensor '${name}': ${t.data.length} values do not fill shape [${shape.join(', ')}] (${n} elements)`);
    const want = t.dtype === 'F32' ? Float32Array : t.dtype === 'I32' ? Int32Array : Uint8Array;
    if (!(t.data instanceof want)) fail(`tensor '${name}': dtype ${t.dtype} needs a ${want.name}, got ${t.data.constructor.name}`);
    let bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    if (t.dtype === 'BOOL') bytes = Uint8Array.from(bytes, (v) => (v ? 1 : 0));
    header[name] = { dtype: t.dtype, shape, data_offsets: [offset, offset + bytes.length] };
    parts.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - ((8 + hb.length) % 8)) % 8;
  if (pad) { json += ' '.repeat(pad); hb = enc.encode(json); }
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** The parsed header: byte range of the JSON and of the data section. */
export interface SafeHeader {
  header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  metadata: Record<string, string>;
  headerText: string;
  dataStart: number;
}

/** Reads and validates the header (names, dtypes, shapes, offsets against the file size). */
export function parseSafetensorsHeader(bytes: Uint8Array): SafeHeader {
  if (!(bytes instanceof Uint8Array)) fail(`expected the file's bytes as a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < 8) fail(`the file is ${bytes.length} bytes long, too short for the 8-byte header length`);
  const n64 = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (n64 > BigInt(bytes.length - 8)) fail(`the header length ${n64} runs past the end of the file (${bytes.length} bytes; not a safetensors file, or truncated)`);
  const n = Number(n64);
  if (n > MAX_HEADER) fail(`the header length ${n} is over the ${MAX_HEADER}-byte limit`);
  if (n < 2) fail(`the header length ${n} is too short for a JSON object`);
  let headerText: string;
  try { headerText = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)); } catch { return fail('the header is not valid UTF-8 (not a safetensors file?)'); }
  if (headerText[0] !== '{') fail(`the header does not start with '{' (not a safetensors file?)`);
  let raw: unknown;
  try { raw = JSON.parse(headerText); } catch (e) { return fail(`the header is not valid JSON: ${(e as Error).message}`); }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('the header is not a JSON object');
  const obj = raw as Record<string, any>;
  const metadata: Record<string, string> = {};
  if (METADATA in obj) {
    const m = obj[METADATA];
    if (typeof m !== 'object' || m === null || Array.isArray(m)) fail(`'${METADATA}' must be an object of strings`);
    for (const [k, v] of Object.entries(m)) {
      if (typeof v !== 'string') fail(`'${METADATA}' value for '${k}' must be a string, got ${JSON.stringify(v)}`);
      metadata[k] = v as string;
    }
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const header: SafeHeader['header'] = {};
  const ranges: [number, number, string][] = [];
  for (const [name, info] of Object.entries(obj)) {
    if (name === METADATA) continue;
    if (typeof info !== 'object' || info === null) fail(`tensor '${name}': the entry must be an object with dtype, shape and data_offsets`);
    const { dtype, data_offsets: off } = info;
    if (!(dtype in ITEM_SIZE)) fail(`tensor '${name}': unknown or unsupported dtype ${JSON.stringify(dtype)}; this reader supports ${Object.keys(ITEM_SIZE).join(', ')}`);
    const shape = checkShape(name, info.shape);
    if (!Array.isArray(off) || off.length !== 2 || off.some((o: unknown) => !Number.isSafeInteger(o) || (o as number) < 0) || off[0] > off[1]) {
      fail(`tensor '${name}': data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(off)}`);
    }
    if (off[1] > dataLen) fail(`tensor '${name}': data_offsets [${off[0]}, ${off[1]}] run past the end of the data (${dataLen} bytes; the file is truncated or corrupt)`);
    const want = numelOf(shape) * ITEM_SIZE[dtype as SafeDType];
    if (off[1] - off[0] !== want) fail(`tensor '${name}': ${off[1] - off[0]} bytes of data, but ${dtype} with shape [${shape.join(', ')}] needs ${want}`);
    header[name] = { dtype, shape, data_offsets: [off[0], off[1]] };
    ranges.push([off[0], off[1], name]);
  }
  // the data must be covered exactly: no overlaps, no holes (as the reference reader checks)
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  for (const [b, e, name] of ranges) {
    if (b < end) fail(`tensor '${name}': data_offsets [${b}, ${e}] overlap the previous tensor's data (ending at ${end})`);
    if (b > end) fail(`tensor '${name}': a hole in the data: bytes ${end}..${b} belong to no tensor`);
    end = e;
  }
  if (end !== dataLen) fail(`the tensors cover ${end} bytes of data but the file has ${dataLen} after the header (trailing bytes)`);
  return { header, metadata, headerText, dataStart };
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/**
 * Parses a safetensors file. F32 and F16 come back as Float32Array, I32 and I64 as
 * Int32Array (an I64 value outside the int32 range is an error), BOOL and U8 as Uint8Array;
 * `dtype` keeps the stored dtype.
 */
export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  const { header, metadata, dataStart } = parseSafetensorsHeader(bytes);
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, { dtype, shape, data_offsets: [b, e] }] of Object.entries(header)) {
    const n = numelOf(shape);
    const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart + b, e - b);
    let data: SafeArray;
    switch (dtype as SafeDType) {
      case 'F32': data = new Float32Array(n); for (let i = 0; i < n; i++) data[i] = dv.getFloat32(4 * i, true); break;
      case 'F16': data = new Float32Array(n); for (let i = 0; i < n; i++) data[i] = halfToFloat(dv.getUint16(2 * i, true)); break;
      case 'I32': data = new Int32Array(n); for (let i = 0; i < n; i++) data[i] = dv.getInt32(4 * i, true); break;
      case 'I64': {
        data = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const v = dv.getBigInt64(8 * i, true);
          if (v < -2147483648n || v > 2147483647n) fail(`tensor '${name}': I64 value ${v} at index ${i} does not fit in int32 (Kiln's integer type)`);
          data[i] = Number(v);
        }
        break;
      }
      case 'BOOL': data = new Uint8Array(n); for (let i = 0; i < n; i++) data[i] = dv.getUint8(i) ? 1 : 0; break;
      default: data = new Uint8Array(n); for (let i = 0; i < n; i++) data[i] = dv.getUint8(i);
    }
    tensors[name] = { dtype: dtype as SafeDType, shape: shape.slice(), data };
  }
  return { tensors, metadata };
}

// ------------------------------------------------------------------ Kiln tensors

/** Reads a Kiln tensor back to the host as a safetensors entry. */
export async function toSafeTensor(t: Tensor, name = 'tensor'): Promise<SafeTensor> {
  const d = await t.data();
  const dt: DType = t.dtype;
  if (dt === 'float32') return { dtype: 'F32', shape: t.shape, data: d as Float32Array };
  if (dt === 'int32') return { dtype: 'I32', shape: t.shape, data: d as Int32Array };
  if (dt === 'bool') return { dtype: 'BOOL', shape: t.shape, data: d as Uint8Array };
  return fail(`tensor '${name}': cannot save dtype ${dt}`);
}

/** A host entry as a Kiln tensor: F32/F16 -> float32, I32/I64/U8 -> int32, BOOL -> bool. */
export function fromSafeTensor(s: SafeTensor): Tensor {
  if (s.dtype === 'F32' || s.dtype === 'F16') return tensor(s.data, s.shape, { dtype: 'float32' });
  if (s.dtype === 'BOOL') return tensor(s.data, s.shape, { dtype: 'bool' });
  return tensor(s.data instanceof Int32Array ? s.data : Int32Array.from(s.data), s.shape, { dtype: 'int32' });
}

/** Serialises a state dict (Module.stateDict(), or any name -> Tensor map) to safetensors bytes. */
export async function saveStateDictBytes(sd: Record<string, Tensor>, metadata?: Record<string, string>): Promise<Uint8Array> {
  const out: Record<string, SafeTensor> = {};
  for (const [k, t] of Object.entries(sd)) {
    if (!(t instanceof Tensor)) fail(`state dict entry '${k}' is not a Tensor`);
    out[k] = await toSafeTensor(t, k);
  }
  return encodeSafetensors(out, metadata);
}

/** Parses safetensors bytes into Kiln tensors (for Module.loadStateDict). */
export function stateDictFromBytes(bytes: Uint8Array): Record<string, Tensor> {
  const { tensors } = decodeSafetensors(bytes);
  return Object.fromEntries(Object.entries(tensors).map(([k, s]) => [k, fromSafeTensor(s)]));
}
