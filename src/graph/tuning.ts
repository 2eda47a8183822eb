// The tuner: picks each tunable kernel's configuration per adapter. A kernel shape (key: the
// emitter, the problem's sizes and layouts, the dtypes) starts on its emitter's default, so the
// first step is never delayed; in the background the tuner compiles the emitter's candidates,
// times each on scratch buffers of the kernel's sizes, keeps the fastest in the per-adapter store
// (src/runtime/tuning_store.ts, cached across runs) and hands it to the programs waiting for it.
// Later programs lower with the stored choice. kn.debug lists and forces choices.
import type { Tunable, AdapterTraits } from '../shaders/tunable.js';
import { describe } from '../shaders/tunable.js';
import { MATMUL_TUNING, type MatmulTiling } from '../shaders/matmul.js';
import { REDUCE_TUNING } from '../shaders/reduce.js';
import { ATTENTION_TUNING } from '../shaders/attention.js';
import { tuningStore, type Measurement } from '../runtime/tuning_store.js';
import { gpu, info, isInitialised, onShutdown } from '../runtime/device.js';
import { getKernel, type Kernel } from '../runtime/pipelines.js';
import { lowerGroup, type Dispatch, type LowerContext } from './lower.js';
import type { Group, Schedule } from './schedule.js';
import { measure } from './measure.js';

/** The tunable emitters by name. */
export const TUNABLES: Record<string, Tunable<any, any>> = { matmul: MATMUL_TUNING, reduce: REDUCE_TUNING, attention: ATTENTION_TUNING };
type AnyTunable = Tunable<any, any>;

export type ChoiceSource = 'default' | 'cache' | 'measured' | 'forced';
export interface Choice { key: string; tunable: AnyTunable; problem: unknown; config: unknown; source: ChoiceSource; candidates: unknown[] }

/** forced configurations, by key or by emitter name (kn.debug.setTuning) */
const overrides = new Map<string, unknown>();
/** kernel shapes lowered in this session, and how often eager programs used them */
const seen = new Map<string, { tunable: AnyTunable; problem: unknown; eagerUses: number }>();
/** measurements running or queued, by key: each resolves to the winner (undefined: keep the default) */
const jobs = new Map<string, Promise<unknown>>();
/** one measurement at a time: the cores are shared with the programs running meanwhile */
let queue: Promise<unknown> = Promise.resolve();
/** what the tuner has done in this process (for tests and benchmarks) */
export const tuningCounters = { measurements: 0, kernelsTimed: 0 };
onShutdown(() => { jobs.clear(); seen.clear(); queue = Promise.resolve(); });


const keyOf = (t: AnyTunable, p: unknown) => `${t.emitter} ${t.key(p)}`;
const traitsOf = (ctx: LowerContext): AdapterTraits => ({ software: !!ctx.software, maxInvocations: ctx.maxInvocations ?? 256 });
const currentTraits = (): AdapterTraits | undefined => (isInitialised() ? { software: info().software, maxInvocations: info().limits.maxComputeInvocationsPerWorkgroup } : undefined);
const sameConfig = (t: AnyTunable, a: unknown, b: unknown) => !t.invalid(a) && !t.invalid(b) && t.label(a) === t.label(b);

/** The configuration for a problem: forced, else the stored choice (if still a candidate), else the default. */
function choose(t: AnyTunable, problem: unknown, traits: AdapterTraits): Choice {
  const key = keyOf(t, problem);
  const s = seen.get(key);
  if (s) s.problem = problem; else seen.set(key, { tunable: t, problem, eagerUses: 0 });
  const candidates = t.candidates(problem, traits);
  const base = { key, tunable: t, problem, candidates };
  for (const target of [key, t.emitter]) {
    const forced = overrides.get(target);
    // an emitter-wide override applies where it is valid for the problem
    if (forced !== undefined && !t.invalid(forced, problem, traits)) return { ...base, config: forced, source: 'forced' };
  }
  if (tuningStore.enabled) {
    const e = tuningStore.get(key);
    const c = e && candidates.find((x) => sameConfig(t, x, e.config));
    if (c) return { ...base, config: c, source: e.source };
  }
  return { ...base, config: candidates[0], source: 'default' };
}

/** Lowers a group with the tuner choosing its configuration; `choice` says which and why. */
export function lowerTuned(g: Group, sched: Schedule, ctx: LowerContext): { dispatches: Dispatch[]; choice?: Choice } {
  let choice: Choice | undefined;
  const traits = traitsOf(ctx);
  const dispatches = lowerGroup(g, sched, { ...ctx, choose: (t, p) => { choice = choose(t, p, traits); return choice.config; } });
  return { dispatches, choice };
}

export interface TunedSlot { group: Group; dispatch: Dispatch; choice?: Choice }

/**
 * Measures in the background the kernel shapes of a program that have no choice yet: those of a
 * persistent program at once, those of eager programs from their second use (a one-off read is
 * not worth compiling candidates for). Starts after `after` (the program's own kernels compile
 * first). For a persistent program, each slot whose winner differs from what it runs is lowered
 * with the winner and handed to `swap`. Resolves when that is done.
 */
export function tuneProgram(slots: TunedSlot[], sched: Schedule, ctx: LowerContext, persistent: boolean, after: Promise<unknown>,
  swap: (slot: number, d: Dispatch, k: Kernel) => void): Promise<void> {
  const waits = slots.map(async (s, i) => {
    const c = s.choice;
    if (!c || c.source !== 'default' || c.candidates.length < 2 || !tuningStore.enabled) return;
    if (!persistent && !jobs.has(c.key) && ++seen.get(c.key)!.eagerUses < 2) return;
    const winner = await (jobs.get(c.key) ?? startJob(c, s.group, sched, ctx, after));
    if (winner === undefined || !persistent || sameConfig(c.tunable, winner, c.config)) return;
    const d = lowerGroup(s.group, sched, { ...ctx, choose: () => winner });
    if (d.length !== 1 || d[0].wgsl === s.dispatch.wgsl) return;
    swap(i, d[0], await getKernel(d[0].wgsl));
  });
  return Promise.all(waits).then(() => undefined, (e) => {
    if (isInitialised()) console.warn(`Kiln: a tuned kernel could not replace its default: ${(e as Error).message.split('\n')[0]}`);
  });
}

function startJob(c: Choice, g: Group, sched: Schedule, ctx: LowerContext, after: Promise<unknown>): Promise<unknown> {
  const device = gpu();
  const run = async () => {
    await after.catch(() => undefined);
    if (!alive(device) || !tuningStore.enabled) return undefined;
    const r = await measure(c.tunable, c.candidates, (cfg) => lowerGroup(g, sched, { ...ctx, choose: () => cfg }), device, () => alive(device));
    if (!r || !alive(device)) return undefined;
    tuningCounters.kernelsTimed += r.timed;
    tuningStore.set(c.key, { config: r.config, ms: r.ms, source: 'measured' });
    tuningCounters.measurements++;
    // written before the programs switch, so a compiled function's ready() means the choice is saved
    await tuningStore.save();
    return r.config;
  };
  const job = queue.then(run, run).catch((e) => {
    if (alive(device)) console.warn(`Kiln: tuning ${c.key} failed, its default stays: ${(e as Error).message.split('\n')[0]}`);
    return undefined;
  });
  queue = job;
  jobs.set(c.key, job);
  void job.then(() => { if (jobs.get(c.key) === job) jobs.delete(c.key); });
  return job;
}

const alive = (device: GPUDevice) => isInitialised() && gpu() === device;


// ---------------------------------------------------------------- kn.debug

export interface TuningRecord {
  key: string;
  emitter: string;
  config: unknown;
  label: string;
  /** 'measuring': the default runs while the candidates are measured */
  source: ChoiceSource | 'measuring';
  ms: Measurement[];
}

/** Every kernel shape this session lowered or the cache holds for this adapter, with its choice. */
export function listTuning(): TuningRecord[] {
  const traits = currentTraits() ?? { software: false, maxInvocations: 256 };
  const out = new Map<string, TuningRecord>();
  for (const [key, e] of tuningStore.list()) {
    const t = TUNABLES[key.split(' ')[0]];
    if (t && !t.invalid(e.config)) out.set(key, { key, emitter: t.emitter, config: e.config, label: t.label(e.config), source: e.source, ms: e.ms });
  }
  for (const [key, s] of seen) {
    const c = choose(s.tunable, s.problem, traits);
    const source = c.source === 'default' && jobs.has(key) ? 'measuring' : c.source;
    out.set(key, { key, emitter: s.tunable.emitter, config: c.config, label: s.tunable.label(c.config), source, ms: tuningStore.get(key)?.ms ?? [] });
  }
  return [...out.values()];
}

const EMITTERS = () => Object.keys(TUNABLES).join(', ');

/**
 * setTuning(false | true): tuning off (every kernel on its default, or forced, configuration; no
 * measuring; the cache is neither read nor written) or back on.
 * setTuning(keyOrEmitter, config): forces `config` for one kernel shape (a key from
 * kn.debug.tuning()) or for every kernel of an emitter where the config is valid for its problem;
 * config undefined lifts it. Programs built afterwards obey it (compile a function again).
 */
export function setTuning(target: boolean | string, config?: unknown, ...rest: unknown[]): void {
  if (rest.length) throw new Error(`kn.debug.setTuning takes at most 2 arguments, got ${2 + rest.length}`);
  if (typeof target === 'boolean') {
    if (config !== undefined) throw new Error(`kn.debug.setTuning(${target}) takes no config, got ${describe(config)}`);
    tuningStore.enabled = target;
    return;
  }
  if (typeof target !== 'string') throw new Error(`kn.debug.setTuning: the first argument must be true, false, an emitter name (${EMITTERS()}) or a key from kn.debug.tuning(), got ${describe(target)}`);
  const emitter = target.split(' ')[0];
  const t = TUNABLES[emitter];
  if (!t) throw new Error(`kn.debug.setTuning: unknown emitter ${JSON.stringify(emitter)} in ${JSON.stringify(target)}; expected one of ${EMITTERS()}, or a key from kn.debug.tuning()`);
  if (config === undefined) { overrides.delete(target); return; }
  const traits = currentTraits();
  if (target === emitter) {
    const bad = t.invalid(config, undefined, traits);
    if (bad) throw new Error(`kn.debug.setTuning('${emitter}', config): ${bad}`);
  } else {
    const s = seen.get(target);
    if (!s) throw new Error(`kn.debug.setTuning: unknown key ${JSON.stringify(target)}: no kernel of that shape was lowered in this session (kn.debug.tuning() lists the keys; '${emitter}' alone forces every ${emitter} kernel)`);
    const bad = t.invalid(config, s.problem, traits ?? { software: false, maxInvocations: 256 });
    if (bad) throw new Error(`kn.debug.setTuning(${JSON.stringify(target)}, config): ${bad}`);
  }
  overrides.set(target, JSON.parse(JSON.stringify(config)));
}

/** Resolves when every measurement started so far, and the cache writes after them, are done. */
export async function tuningSettled(): Promise<void> {
  for (;;) {
    const q = queue;
    await q;
    await tuningStore.flushed();
    if (q === queue) return;
  }
}

/** Pins every matmul to one tiling (undefined: tuned per shape, with tiered compilation); bench/node.ts --tiling. */
export function setTiling(t: MatmulTiling | undefined): void { setTuning('matmul', t); }
