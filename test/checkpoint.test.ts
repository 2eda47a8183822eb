// safetensors (encode/decode, validation), checkpoints in Node (atomic writes, checksums,
// corruption, stray temp files), bit-identical resume, PyTorch interop both ways
// (test/golden/interop/, written by test/golden/gen_interop.py), and bad input.
//
// KILN_WRITE_INTEROP=1 npx vitest run test/checkpoint.test.ts rewrites
// test/golden/interop/kiln_model.safetensors and kiln_output.json; then run
// `/usr/bin/python3 test/golden/gen_interop.py --check` to refresh pytorch_check.txt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as kn from '../src/index.js';
import { normalArray } from '../src/layers/random.js';
import {
  encodeSafetensors, decodeSafetensors, saveStateDictBytes, stateDictFromBytes, type SafeTensor,
} from '../src/train/safetensors.js';
import {
  saveCheckpoint, loadCheckpoint, decodeCheckpoint, encodeCheckpoint, crc32, type SchedulerLike,
} from '../src/train/checkpoint.js';
import { writeFileAtomic } from '../src/train/checkpoint_node.js';

const INTEROP = new URL('./golden/interop/', import.meta.url).pathname;
let dir: string;
beforeAll(async () => {
  await kn.init();
  // one matmul kernel throughout: tiered compilation may swap kernels mid-run, which changes
  // float rounding and would make "bit-identical resume" depend on timing
  kn.debug.setMatmulTiling(kn.debug.DEFAULT_TILING);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kiln-ckpt-'));
});
afterAll(() => {
  kn.debug.setMatmulTiling(undefined);
  kn.shutdown();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const mlp = (i = 8, h = 16, o = 4) => new kn.nn.Sequential(new kn.nn.Linear(i, h), new kn.nn.ReLU(), new kn.nn.Linear(h, o));
const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
async function values(m: kn.nn.Module): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(m.stateDict())) out[k] = Array.from(await t.data());
  return out;
}
async function valueBits(m: kn.nn.Module): Promise<Record<string, number[]>> {
  const v = await values(m);
  return Object.fromEntries(Object.entries(v).map(([k, a]) => [k, bits(a)]));
}
const tmp = (name: string) => path.join(dir, name);

/** A hand-built safetensors file: header object (serialised as given) then data bytes. */
function rawFile(header: unknown, data: Uint8Array | number[] = [], headerLen?: number): Uint8Array {
  const h = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

// ------------------------------------------------------------------ safetensors

describe('safetensors', () => {
  it('round-trips F32, I32, BOOL and U8 with shapes (scalar, empty) and metadata; the header pads to 8 bytes', () => {
    const t: Record<string, SafeTensor> = {
      w: { dtype: 'F32', shape: [2, 3], data: Float32Array.of(1.5, -2, 3e-8, Infinity, -0, NaN) },
      s: { dtype: 'F32', shape: [], data: Float32Array.of(7) },
      e: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
      i: { dtype: 'I32', shape: [3], data: Int32Array.of(-2147483648, 0, 2147483647) },
      b: { dtype: 'BOOL', shape: [2, 2], data: Uint8Array.of(1, 0, 0, 1) },
      u: { dtype: 'U8', shape: [3], data: Uint8Array.of(0, 128, 255) },
    };
    const bytes = encodeSafetensors(t, { note: 'hello', 'ü': 'ß' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const back = decodeSafetensors(bytes);
    expect(back.metadata).toEqual({ note: 'hello', 'ü': 'ß' });
    expect(Object.keys(back.tensors)).toEqual(Object.keys(t));
    for (const [k, v] of Object.entries(t)) {
      expect(back.tensors[k].dtype, k).toBe(v.dtype);
      expect(back.tensors[k].shape, k).toEqual(v.shape);
      expect(back.tensors[k].data.constructor, k).toBe(v.data.constructor);
      if (v.dtype === 'F32') expect(bits(back.tensors[k].data), k).toEqual(bits(v.data));
      else expect(Array.from(back.tensors[k].data), k).toEqual(Array.from(v.data));
    }
  });

  it('reads a file PyTorch wrote, one tensor per dtype (F16 and I64 converted), matching dtypes.json', () => {
    const { tensors, metadata } = decodeSafetensors(fs.readFileSync(INTEROP + 'dtypes.safetensors'));
    const want = JSON.parse(fs.readFileSync(INTEROP + 'dtypes.json', 'utf8')).tensors as Record<string, { dtype: string; shape: number[]; data: (number | null)[]; inf: number[] }>;
    expect(metadata).toEqual({ note: 'one tensor per dtype' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(want).sort());
    for (const [k, w] of Object.entries(want)) {
      const t = tensors[k];
      expect(t.dtype, k).toBe(w.dtype);
      expect(t.shape, k).toEqual(w.shape);
      const expected = w.data.map((v, i) => (v === null ? (w.inf.includes(i) ? Infinity : NaN) : v));
      if (w.dtype === 'F32' || w.dtype === 'F16') {
        expect(t.data).toBeInstanceOf(Float32Array);
        expect(bits(t.data), k).toEqual(bits(expected)); // f16 -> f32 is exact
      } else {
        expect(t.data, k).toBeInstanceOf(w.dtype.startsWith('I') ? Int32Array : Uint8Array);
        expect(Array.from(t.data), k).toEqual(expected);
      }
    }
    // -0 survives (a sign bit a careless reader drops)
    expect(Object.is(tensors.f32.data[4], -0)).toBe(true);
  });

  const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const cases: [string, () => Uint8Array, RegExp][] = [
    ['a file shorter than 8 bytes', () => Uint8Array.of(1, 2, 3), /too short for the 8-byte header length/],
    ['a header length beyond the file', () => rawFile({ a: f32([1], 0, 4) }, [0, 0, 0, 0], 5000), /header length 5000 runs past the end of the file/],
    ['a header that is not JSON', () => rawFile('{"a": nope}'), /header is not valid JSON/],
    ['a header that is not an object', () => rawFile('[1,2]'), /does not start with '\{'/],
    ['an unknown dtype', () => rawFile({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)), /tensor 'a': unknown or unsupported dtype "C64"/],
    ['offsets past the data', () => rawFile({ a: f32([2], 0, 8) }, [0, 0, 0, 0]), /tensor 'a': data_offsets \[0, 8\] run past the end of the data \(4 bytes/],
    ['offsets begin > end', () => rawFile({ a: f32([1], 4, 0) }, new Array(4).fill(0)), /data_offsets must be \[begin, end\] with 0 <= begin <= end/],
    ['overlapping tensors', () => rawFile({ a: f32([2], 0, 8), b: f32([2], 4, 12) }, new Array(12).fill(0)), /tensor 'b': data_offsets \[4, 12\] overlap the previous tensor's data \(ending at 8\)/],
    ['a hole in the data', () => rawFile({ a: f32([1], 0, 4), b: f32([1], 8, 12) }, new Array(12).fill(0)), /a hole in the data: bytes 4\.\.8 belong to no tensor/],
    ['trailing bytes', () => rawFile({ a: f32([1], 0, 4) }, new Array(6).fill(0)), /cover 4 bytes of data but the file has 6/],
    ['a size that does not match dtype and shape', () => rawFile({ a: f32([3], 0, 8) }, new Array(8).fill(0)), /tensor 'a': 8 bytes of data, but F32 with shape \[3\] needs 12/],
    ['a negative shape', () => rawFile({ a: f32([-1], 0, 0) }), /tensor 'a': shape must be a list of non-negative integers/],
    ['a non-string metadata value', () => rawFile({ __metadata__: { n: 3 } }), /'__metadata__' value for 'n' must be a string/],
    ['an I64 value outside int32', () => {
      const d = new Uint8Array(8); new DataView(d.buffer).setBigInt64(0, 2n ** 40n, true);
      return rawFile({ a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, d);
    }, /tensor 'a': I64 value 1099511627776 at index 0 does not fit in int32/],
  ];
  for (const [what, make, msg] of cases) {
    it(`rejects ${what}`, () => { expect(() => decodeSafetensors(make())).toThrow(msg); });
  }
  it('a well-formed hand-built file decodes (the rejection cases above differ from it in one thing)', () => {
    const d = new Uint8Array(8); new DataView(d.buffer).setFloat32(0, 2.5, true); new DataView(d.buffer).setFloat32(4, -1, true);
    const { tensors } = decodeSafetensors(rawFile({ a: f32([1], 0, 4), b: f32([1], 4, 8) }, d));
    expect(Array.from(tensors.a.data)).toEqual([2.5]);
    expect(Array.from(tensors.b.data)).toEqual([-1]);
  });

  it('encode refuses values that do not fill the shape, unwritable dtypes and non-string metadata', () => {
    expect(() => encodeSafetensors({ a: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/tensor 'a': 3 values do not fill shape \[2, 2\] \(4 elements\)/);
    expect(() => encodeSafetensors({ a: { dtype: 'F16', shape: [1], data: new Float32Array(1) } })).toThrow(/tensor 'a': cannot write dtype F16/);
    expect(() => encodeSafetensors({ a: { dtype: 'I32', shape: [1], data: new Float32Array(1) } })).toThrow(/dtype I32 needs a Int32Array, got Float32Array/);
    expect(() => encodeSafetensors({}, { a: 1 as any })).toThrow(/metadata value for 'a' must be a string/);
  });

  it('saveStateDictBytes / stateDictFromBytes keep values and dtypes (float32, int32, bool)', async () => {
    const sd = {
      w: kn.tensor([[1.25, -3], [0.5, 1e-20]]),
      n: kn.tensor(Int32Array.of(3, -7, 2147483647), [3], { dtype: 'int32' }),
      m: kn.tensor([1, 0, 1], [3], { dtype: 'bool' }),
    };
    const back = stateDictFromBytes(await saveStateDictBytes(sd, { who: 'test' }));
    expect(Object.keys(back)).toEqual(['w', 'n', 'm']);
    expect(back.w.dtype).toBe('float32');
    expect(back.w.shape).toEqual([2, 2]);
    expect(bits(await back.w.data())).toEqual(bits([1.25, -3, 0.5, 1e-20]));
    expect(back.n.dtype).toBe('int32');
    expect(Array.from(await back.n.data())).toEqual([3, -7, 2147483647]);
    expect(back.m.dtype).toBe('bool');
    expect(Array.from(await back.m.data())).toEqual([1, 0, 1]);
  });

  it('crc32 matches the standard check value', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });
});

// ------------------------------------------------------------------ PyTorch interop

describe('PyTorch interop', () => {
  it("loads PyTorch's state_dict (pytorch_model.safetensors) strictly and reproduces PyTorch's output", async () => {
    const sd = stateDictFromBytes(fs.readFileSync(INTEROP + 'pytorch_model.safetensors'));
    expect(Object.keys(sd)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    const model = mlp();
    model.loadStateDict(sd, { strict: true });
    const io = decodeSafetensors(fs.readFileSync(INTEROP + 'pytorch_io.safetensors')).tensors;
    const y = await model.call(kn.tensor(io.x.data, io.x.shape)).data();
    expect(Array.from(io.y.shape)).toEqual([5, 4]);
    for (let i = 0; i < y.length; i++) {
      const e = io.y.data[i];
      if (!(Math.abs(y[i] - e) <= 1e-6 + 1e-5 * Math.abs(e))) expect.fail(`y[${i}] = ${y[i]}, PyTorch has ${e}`);
    }
  });

  /** The model behind kiln_model.safetensors: seeded init, five Adam steps on fixed data. */
  async function trainedModel() {
    kn.manualSeed(42);
    const model = mlp();
    const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-2 });
    // the host generator's normals, as kn.randn drew them when the committed file was written
    const x = kn.tensor(normalArray(16 * 8), [16, 8]);
    const y = kn.tensor(Int32Array.from({ length: 16 }, (_, i) => i % 4), [16], { dtype: 'int32' });
    for (let i = 0; i < 5; i++) {
      const loss = kn.F.crossEntropy(model.call(x), y);
      loss.backward(); opt.step(); opt.zeroGrad();
      await loss.item();
    }
    const xin = Float32Array.from({ length: 3 * 8 }, (_, i) => Math.sin(i + 1));
    return { model, opt, xin, x, y };
  }
  /** One more Adam step on the training batch: what PyTorch must reproduce from the checkpoint. */
  async function nextStep(model: kn.nn.Module, opt: kn.optim.Optimizer, x: kn.Tensor, y: kn.Tensor) {
    const loss = kn.F.crossEntropy(model.call(x), y);
    loss.backward(); opt.step(); opt.zeroGrad();
    return { loss: await loss.item(), params: await values(model) };
  }
  const closeTo = (what: string, a: ArrayLike<number>, e: ArrayLike<number>) => {
    expect(a.length, what).toBe(e.length);
    for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i] - e[i]) <= 1e-6 + 1e-5 * Math.abs(e[i]))) expect.fail(`${what}[${i}] = ${a[i]}, expected ${e[i]}`);
  };

  it('a Kiln checkpoint of a trained model (kiln_model.safetensors) still decodes and gives the output PyTorch checked', async () => {
    const file = INTEROP + 'kiln_model.safetensors', outFile = INTEROP + 'kiln_output.json';
    if (process.env.KILN_WRITE_INTEROP === '1') {
      const { model, opt, xin, x, y: labels } = await trainedModel();
      await saveCheckpoint(file, { model, optimizer: opt, extra: { note: 'Sequential(Linear(8,16), ReLU, Linear(16,4)) after 5 Adam steps, lr 1e-2, kn.manualSeed(42)' } });
      const y = await model.call(kn.tensor(xin, [3, 8])).data();
      const trainX = Array.from(await x.data()), trainY = Array.from(await labels.data());
      const next = await nextStep(model, opt, x, labels);
      fs.writeFileSync(outFile, JSON.stringify({
        x: { shape: [3, 8], data: Array.from(xin) }, y: { shape: [3, 4], data: Array.from(y) },
        trainX: { shape: [16, 8], data: trainX }, trainY: { shape: [16], data: trainY },
        nextStep: next,
      }) + '\n');
    }
    const bytes = fs.readFileSync(file);
    const ck = decodeCheckpoint(bytes, file); // checks the checksum
    expect(Object.keys(ck.model)).toEqual(['0.weight', '0.bias', '2.weight', '2.bias']);
    // what Kiln produces now from the committed file equals what it wrote then (and PyTorch checked)
    const model = mlp();
    const opt = new kn.optim.Adam(model.parameters(), { lr: 1e-2 });
    await loadCheckpoint(file, { model, optimizer: opt });
    const out = JSON.parse(fs.readFileSync(outFile, 'utf8'));
    const y = await model.call(kn.tensor(Float32Array.from(out.x.data), out.x.shape)).data();
    closeTo('output', y, out.y.data);
    // resuming from the committed file: one more Adam step gives the committed next step
    // (which PyTorch reproduced from the same file)
    const trainX = kn.tensor(Float32Array.from(out.trainX.data), out.trainX.shape);
    const trainY = kn.tensor(Int32Array.from(out.trainY.data), out.trainY.shape, { dtype: 'int32' });
    const m2 = mlp();
    const o2 = new kn.optim.Adam(m2.parameters(), { lr: 1 });
    await loadCheckpoint(file, { model: m2, optimizer: o2 });
    const next = await nextStep(m2, o2, trainX, trainY);
    closeTo('loss', [next.loss], [out.nextStep.loss]);
    for (const k of Object.keys(out.nextStep.params)) closeTo(`after the next step: ${k}`, next.params[k], out.nextStep.params[k]);
    // training it again today gives the committed weights (same seed, data and steps)
    const fresh = await trainedModel();
    const now = await values(fresh.model);
    for (const [k, t] of Object.entries(ck.model)) {
      for (let i = 0; i < t.data.length; i++) {
        if (!(Math.abs(now[k][i] - t.data[i]) <= 1e-6 + 1e-5 * Math.abs(t.data[i]))) expect.fail(`${k}[${i}]: trained now ${now[k][i]}, committed ${t.data[i]}`);
      }
    }
    // the optimizer state went in too, and PyTorch's check of this very file passed
    expect((await opt.stateDict()).state[0].step).toBe(5);
    const report = fs.readFileSync(INTEROP + 'pytorch_check.txt', 'utf8');
    expect(report).toContain(`checksum ${ck.metadata.checksum} verified`);
    expect(report).toMatch(/one more torch\.optim\.Adam step from the loaded state matches Kiln's/);
    expect(report.trim().endsWith('PASS')).toBe(true);
  });
});

// ------------------------------------------------------------------ checkpoints in Node

/** A test scheduler: halves every group's lr every `every` steps; plain-JSON state. */
class HalveEvery implements SchedulerLike {
  count = 0;
  constructor(private opt: kn.optim.Optimizer, private every: number) {}
  step() { if (++this.count % this.every === 0) for (const g of this.opt.paramGroups) g.lr = g.lr * 0.5; }
  stateDict() { return { count: this.count, every: this.every }; }
  loadStateDict(s: { count: number; every: number }) { this.count = s.count; this.every = s.every; }
}

function data(seed: number) {
  kn.manualSeed(seed);
  const x = kn.randn([12, 8]);
  const y = kn.tensor(Int32Array.from({ length: 12 }, (_, i) => (i * 7) % 4), [12], { dtype: 'int32' });
  return { x, y };
}
async function run(model: kn.nn.Module, opt: kn.optim.Optimizer, sched: { step(): void } | null, x: kn.Tensor, y: kn.Tensor, steps: number): Promise<number[]> {
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const loss = kn.F.crossEntropy(model.call(x), y);
    loss.backward(); opt.step(); opt.zeroGrad();
    sched?.step();
    losses.push(await loss.item());
  }
  return losses;
}

describe('checkpoints in Node', () => {
  it('save then load restores the model, the optimizer state, the scheduler and extra into fresh objects', async () => {
    const { x, y } = data(1);
    kn.manualSeed(2);
    const model = mlp();
    const opt = new kn.optim.Adam(model.parameters(), { lr: 3e-2 });
    const sched = new HalveEvery(opt, 2);
    await run(model, opt, sched, x, y, 3);
    const file = tmp('roundtrip.safetensors');
    await saveCheckpoint(file, { model, optimizer: opt, scheduler: sched, extra: { epoch: 3, best: 0.25, tag: 'ok', nan: NaN } });
    kn.manualSeed(99);
    const model2 = mlp();
    const opt2 = new kn.optim.Adam(model2.parameters(), { lr: 1 });
    const sched2 = new HalveEvery(opt2, 100);
    expect(await valueBits(model2)).not.toEqual(await valueBits(model));
    const r = await loadCheckpoint(file, { model: model2, optimizer: opt2, scheduler: sched2 });
    expect(r.extra).toEqual({ epoch: 3, best: 0.25, tag: 'ok', nan: NaN });
    expect(r.missingKeys).toEqual([]);
    expect(await valueBits(model2)).toEqual(await valueBits(model));
    expect(sched2.stateDict()).toEqual({ count: 3, every: 2 });
    expect(opt2.getLr()).toEqual(opt.getLr());
    expect(opt2.getLr()[0]).toBe(1.5e-2);
    const [a, b] = [await opt.stateDict(), await opt2.stateDict()];
    expect(b.param_groups).toEqual(a.param_groups);
    for (const [i, s] of Object.entries(a.state)) {
      expect((b.state as any)[i].step).toBe(s.step);
      for (const k of ['exp_avg', 'exp_avg_sq']) expect(bits(await ((b.state as any)[i][k] as kn.Tensor).data()), `${i}.${k}`).toEqual(bits(await ((s as any)[k] as kn.Tensor).data()));
    }
  });

  it('the file is plain safetensors: model.* and optimizer.state.* tensors, JSON metadata, a checksum; no temp files left', async () => {
    kn.manualSeed(3);
    const model = mlp(4, 3, 2);
    const opt = new kn.optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
    const { x } = data(4);
    const xs = x.slice([0, 0], [12, 4]);
    kn.F.crossEntropy(model.call(xs), kn.tensor(Int32Array.from({ length: 12 }, (_, i) => i % 2), [12], { dtype: 'int32' })).backward();
    opt.step();
    const file = tmp('layout.safetensors');
    await saveCheckpoint(file, { model, optimizer: opt, extra: { a: [1, 2] } });
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const { tensors, metadata } = decodeSafetensors(fs.readFileSync(file));
    expect(Object.keys(tensors)).toEqual([
      'model.0.weight', 'model.0.bias', 'model.2.weight', 'model.2.bias',
      'optimizer.state.0.momentum_buffer', 'optimizer.state.1.momentum_buffer', 'optimizer.state.2.momentum_buffer', 'optimizer.state.3.momentum_buffer',
    ]);
    expect(tensors['optimizer.state.0.momentum_buffer'].shape).toEqual([3, 4]);
    expect(metadata.format).toBe('kiln.checkpoint');
    expect(metadata.format_version).toBe('1');
    expect(metadata.checksum).toMatch(/^crc32:[0-9a-f]{8}$/);
    expect(JSON.parse(metadata.extra)).toEqual({ a: [1, 2] });
    const o = JSON.parse(metadata.optimizer);
    expect(o.param_groups[0]).toMatchObject({ lr: 0.1, momentum: 0.9, params: [0, 1, 2, 3] });
    expect(Object.keys(o.state)).toEqual(['0', '1', '2', '3']);
  });

  describe('corruption and crashes', () => {
    let good: Uint8Array, model: kn.nn.Module, before: Record<string, number[]>;
    const file = () => tmp('victim.safetensors');
    beforeAll(async () => {
      kn.manualSeed(5);
      const m = mlp();
      await saveCheckpoint(file(), { model: m, extra: { v: 1 } });
      good = new Uint8Array(fs.readFileSync(file()));
      kn.manualSeed(6);
      model = mlp();
      before = await valueBits(model);
    });
    const expectRejected = async (bytes: Uint8Array, msg: RegExp) => {
      fs.writeFileSync(tmp('bad.safetensors'), bytes);
      await expect(loadCheckpoint(tmp('bad.safetensors'), { model })).rejects.toThrow(msg);
      expect(await valueBits(model)).toEqual(before); // nothing was loaded
    };

    it('a flipped bit in the tensor data fails the checksum', async () => {
      const b = good.slice(); b[b.length - 3] ^= 0x10;
      await expectRejected(b, /victim|bad\.safetensors is corrupt: checksum mismatch \(stored crc32:[0-9a-f]{8}, computed crc32:[0-9a-f]{8}\)/);
    });
    it('a changed character in the header metadata fails the checksum', async () => {
      const text = new TextDecoder().decode(good);
      const at = text.indexOf('{\\"v\\":1}');
      expect(at).toBeGreaterThan(0);
      const b = good.slice(); b[at + 7] = '2'.charCodeAt(0);
      await expectRejected(b, /is corrupt: checksum mismatch/);
    });
    it('a truncated file is rejected as truncated', async () => {
      await expectRejected(good.slice(0, good.length - 10), /not a readable checkpoint \(corrupt, truncated or not a safetensors file\).*run past the end of the data/);
      await expectRejected(good.slice(0, 100), /header length \d+ runs past the end of the file/);
    });
    it('a failed save (error after the temp file is written) leaves the previous checkpoint and no temp file', async () => {
      kn.manualSeed(7);
      const other = mlp();
      const bytes = await encodeCheckpoint({ model: other });
      await expect(writeFileAtomic(file(), bytes, { afterWrite: (t) => { expect(fs.existsSync(t)).toBe(true); throw new Error('simulated crash'); } })).rejects.toThrow('simulated crash');
      expect(new Uint8Array(fs.readFileSync(file()))).toEqual(good);
      expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    });
    it('a crash mid-write (a stray half-written temp file beside it) does not affect loading, and the next save succeeds', async () => {
      const stray = path.join(dir, '.victim.safetensors.12345.dead.tmp');
      fs.writeFileSync(stray, good.slice(0, 200));
      const m = mlp();
      const r = await loadCheckpoint(file(), { model: m });
      expect(r.extra).toEqual({ v: 1 });
      kn.manualSeed(5);
      expect(await valueBits(m)).toEqual(await valueBits(mlp()));
      await saveCheckpoint(file(), { model: m, extra: { v: 2 } });
      expect((await loadCheckpoint(file(), { model: m })).extra).toEqual({ v: 2 });
      expect(fs.existsSync(stray)).toBe(true); // someone else's temp file is not ours to delete
      fs.unlinkSync(stray);
    });
  });

  describe('bad input', () => {
    let file: string;
    beforeAll(async () => {
      kn.manualSeed(8);
      const m = mlp(8, 16, 4);
      const opt = new kn.optim.Adam(m.parameters(), { lr: 1e-2 });
      const { x, y } = data(9);
      await run(m, opt, null, x, y, 1);
      file = tmp('src.safetensors');
      await saveCheckpoint(file, { model: m, optimizer: opt });
    });

    it('a checkpoint for a different model is refused with every mismatch named; the model is untouched', async () => {
      const m = mlp(8, 32, 4);
      const before = await valueBits(m);
      await expect(loadCheckpoint(file, { model: m })).rejects.toThrow(/does not fit this model: size mismatch for 0\.weight: the checkpoint has shape \[16, 8\], the model expects \[32, 8\]; size mismatch for 0\.bias.*; size mismatch for 2\.weight/);
      await expect(loadCheckpoint(file, { model: m, strict: false })).rejects.toThrow(/size mismatch for 0\.weight/);
      expect(await valueBits(m)).toEqual(before);
    });

    it('strict: missing and unexpected keys are named and nothing loads; non-strict loads what matches and lists the rest', async () => {
      class Two extends kn.nn.Module {
        0 = new kn.nn.Linear(8, 16);
        extra = new kn.nn.Linear(2, 2);
        forward(x: kn.Tensor) { return x; }
      }
      const m = new Two();
      const before = await valueBits(m);
      await expect(loadCheckpoint(file, { model: m })).rejects.toThrow(/missing keys: extra\.weight, extra\.bias; unexpected keys: 2\.weight, 2\.bias/);
      expect(await valueBits(m)).toEqual(before);
      const r = await loadCheckpoint(file, { model: m, strict: false });
      expect(r.missingKeys).toEqual(['extra.weight', 'extra.bias']);
      expect(r.unexpectedKeys).toEqual(['2.weight', '2.bias']);
      const ck = decodeCheckpoint(fs.readFileSync(file));
      const after = await values(m);
      expect(bits(after['0.weight'])).toEqual(bits(ck.model['0.weight'].data));
      expect(bits(after['extra.weight'])).toEqual(before['extra.weight']);
    });

    it('an optimizer that does not match (parameter count, missing state) is refused before anything changes', async () => {
      const m = mlp(8, 16, 4);
      const before = await valueBits(m);
      const optFew = new kn.optim.Adam(m.parameters().slice(0, 2), { lr: 1e-2 });
      await expect(loadCheckpoint(file, { model: m, optimizer: optFew })).rejects.toThrow(/optimizer parameter group 0 has 4 parameters, the optimizer's has 2/);
      expect(await valueBits(m)).toEqual(before);
      const plain = tmp('noopt.safetensors');
      await saveCheckpoint(plain, { model: m });
      const m2 = mlp(8, 16, 4);
      const opt2 = new kn.optim.Adam(m2.parameters());
      await expect(loadCheckpoint(plain, { model: m2, optimizer: opt2 })).rejects.toThrow(/holds no optimizer state, but an optimizer was given/);
      await expect(loadCheckpoint(plain, { model: m2, scheduler: new HalveEvery(opt2, 1) })).rejects.toThrow(/holds no scheduler state, but a scheduler was given/);
    });

    it('files that are not checkpoints: text, a plain PyTorch state dict, a missing path', async () => {
      const m = mlp();
      fs.writeFileSync(tmp('notes.txt'), 'hello, this is not a checkpoint\n');
      await expect(loadCheckpoint(tmp('notes.txt'), { model: m })).rejects.toThrow(/notes\.txt is not a readable checkpoint.*header length \d+ runs past the end of the file/);
      await expect(loadCheckpoint(INTEROP + 'pytorch_model.safetensors', { model: m })).rejects.toThrow(/is a safetensors file but not a Kiln checkpoint.*stateDictFromBytes/);
      await expect(loadCheckpoint(tmp('nope.safetensors'), { model: m })).rejects.toThrow(/no checkpoint at .*nope\.safetensors \(file not found\)/);
    });
  });
});

// ------------------------------------------------------------------ resume

describe('resume from a checkpoint is bit-identical to the uninterrupted run', () => {
  const N = 8, K = 3;
  const configs: [string, (p: kn.Tensor[]) => kn.optim.Optimizer][] = [
    ['Adam (+ scheduler)', (p) => new kn.optim.Adam(p, { lr: 2e-2 })],
    ['SGD with momentum and weight decay (+ scheduler)', (p) => new kn.optim.SGD(p, { lr: 5e-2, momentum: 0.9, weightDecay: 1e-3 })],
  ];
  for (const [name, make] of configs) {
    it(name, async () => {
      const { x, y } = data(11);
      kn.manualSeed(12);
      const ref = mlp();
      const refOpt = make(ref.parameters());
      const refLosses = await run(ref, refOpt, new HalveEvery(refOpt, 2), x, y, N);

      kn.manualSeed(12);
      const a = mlp();
      const aOpt = make(a.parameters());
      const aSched = new HalveEvery(aOpt, 2);
      const first = await run(a, aOpt, aSched, x, y, K);
      const file = tmp(`resume-${name.split(' ')[0]}.safetensors`);
      await saveCheckpoint(file, { model: a, optimizer: aOpt, scheduler: aSched, extra: { step: K } });

      kn.manualSeed(1000); // a different init: everything must come from the checkpoint
      const b = mlp();
      const bOpt = make(b.parameters());
      const bSched = new HalveEvery(bOpt, 7);
      const { extra } = await loadCheckpoint(file, { model: b, optimizer: bOpt, scheduler: bSched });
      expect(extra).toEqual({ step: K });
      const rest = await run(b, bOpt, bSched, x, y, N - K);

      expect(bits([...first, ...rest])).toEqual(bits(refLosses));
      expect(await valueBits(b)).toEqual(await valueBits(ref));
      expect(bOpt.getLr()).toEqual(refOpt.getLr());
      // without the optimizer state the resumed run differs (the test can tell)
      const c = mlp();
      const cOpt = make(c.parameters());
      await loadCheckpoint(file, { model: c });
      const restNoOpt = await run(c, cOpt, null, x, y, N - K);
      expect(bits(restNoOpt)).not.toEqual(bits(rest));
    });
  }

  it('AdamW with a PyTorch-style scheduler (src/train/schedulers.ts: CosineAnnealingLR) in the checkpoint', async () => {
    // imported here so that only this test depends on the schedulers module
    const { CosineAnnealingLR } = await import('../src/train/schedulers.js');
    const { x, y } = data(13);
    const make = (m: kn.nn.Module) => {
      const opt = new kn.optim.AdamW(m.parameters(), { lr: 3e-2 });
      return { opt, sched: new CosineAnnealingLR(opt, N, { etaMin: 1e-3 }) };
    };
    kn.manualSeed(14);
    const ref = mlp();
    const r = make(ref);
    const refLosses = await run(ref, r.opt, r.sched, x, y, N);
    kn.manualSeed(14);
    const a = mlp();
    const s = make(a);
    const first = await run(a, s.opt, s.sched, x, y, K);
    const file = tmp('resume-cosine.safetensors');
    await saveCheckpoint(file, { model: a, optimizer: s.opt, scheduler: s.sched });
    expect(JSON.parse(decodeSafetensors(fs.readFileSync(file)).metadata.scheduler).last_epoch).toBe(K);
    kn.manualSeed(15);
    const b = mlp();
    const t = make(b);
    await loadCheckpoint(file, { model: b, optimizer: t.opt, scheduler: t.sched });
    const rest = await run(b, t.opt, t.sched, x, y, N - K);
    expect(bits([...first, ...rest])).toEqual(bits(refLosses));
    expect(await valueBits(b)).toEqual(await valueBits(ref));
    expect(t.opt.getLr()).toEqual(r.opt.getLr());
  });
});
