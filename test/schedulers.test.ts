// Learning-rate schedulers against torch.optim.lr_scheduler (test/golden/schedulers.json,
// from gen_schedulers.py): every case's rate per group after construction and after each
// step, OneCycleLR's momentum / beta1, get_last_lr(), the state_dict keys, last_epoch and
// _step_count. Then state round trips, argument errors, and a compiled training step driven
// by a scheduler.
//
// Tolerance for rates: relative 1e-12. Both sides are host doubles computed by the same
// formulas in the same order; the only difference is the math library (V8's cos and pow
// against glibc's), which may differ in the last bit, and the recursive forms
// (CosineAnnealingLR, LinearLR) carry such a bit along a few dozen steps. Measured: the worst
// relative difference over all cases is 8.3e-16 (printed by the last golden test).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kn from '../src/index.js';
import {
  LRScheduler, StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, OneCycleLR, SequentialLR, ReduceLROnPlateau,
} from '../src/train/schedulers.js';
import type { Optimizer } from '../src/train/optim.js';
import { loadGolden } from './golden.js';

const golden = loadGolden('schedulers.json');
const RTOL = 1e-12;

interface Spec { scheduler: string; args: any[]; options: Record<string, any> }
type AnySched = LRScheduler | ReduceLROnPlateau;

function makeOptimizer(kind: string, lrs: number[], options: Record<string, any> = {}) {
  const groups = lrs.map((lr) => ({ params: [kn.tensor([0, 0], [2])], lr }));
  if (kind === 'SGD') return new kn.optim.SGD(groups, { lr: lrs[0], ...options });
  if (kind === 'Adam') return new kn.optim.Adam(groups, { lr: lrs[0], ...options });
  throw new Error(`no optimizer ${kind}`);
}

function build(opt: Optimizer, s: Spec): AnySched {
  const a = s.args, o = s.options;
  switch (s.scheduler) {
    case 'StepLR': return new StepLR(opt, a[0], o);
    case 'MultiStepLR': return new MultiStepLR(opt, a[0], o);
    case 'ExponentialLR': return new ExponentialLR(opt, a[0]);
    case 'CosineAnnealingLR': return new CosineAnnealingLR(opt, a[0], o);
    case 'LinearLR': return new LinearLR(opt, o);
    case 'OneCycleLR': return new OneCycleLR(opt, a[0], o);
    case 'SequentialLR': return new SequentialLR(opt, a[0].map((x: Spec) => build(opt, x) as LRScheduler), a[1]);
    case 'ReduceLROnPlateau': return new ReduceLROnPlateau(opt, o);
    default: throw new Error(`no scheduler ${s.scheduler}`);
  }
}

const momentumOf = (opt: Optimizer) => opt.paramGroups.map((g) => (g.betas ? g.betas[0] : g.momentum));
const lrsOf = (opt: Optimizer) => opt.paramGroups.map((g) => g.lr);

function step(s: AnySched, metric?: number): void {
  if (s instanceof ReduceLROnPlateau) s.step(metric!);
  else s.step();
}

let worst = 0;
function close(what: string, got: number[], want: number[]): void {
  expect(got.length, `${what}: groups`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (want[i] !== 0) worst = Math.max(worst, err / Math.abs(want[i]));
    if (!(err <= RTOL * Math.abs(want[i]))) expect.fail(`${what}: group ${i} is ${got[i]}, PyTorch has ${want[i]} (relative error ${err / Math.abs(want[i])} > ${RTOL})`);
  }
}

/**
 * PyTorch's linear OneCycleLR sets a negative rate at its last allowed step (step number
 * totalSteps extrapolates past the end, and no batch uses that rate); Kiln's optimizers refuse
 * negative rates, so Kiln writes 0 there. Every other expected rate is used as is.
 */
const kilnRate = (v: number) => Math.max(v, 0);

beforeAll(async () => { await kn.init(); });
afterAll(() => kn.shutdown());

describe('schedulers match PyTorch (schedulers.json)', () => {
  it('has every scheduler this file expects', () => {
    const kinds = new Set(golden.cases.map((c: any) => c.scheduler));
    for (const k of ['StepLR', 'MultiStepLR', 'ExponentialLR', 'CosineAnnealingLR', 'LinearLR', 'OneCycleLR', 'SequentialLR', 'ReduceLROnPlateau']) expect(kinds.has(k), k).toBe(true);
    for (const c of golden.cases) expect(c.lrs).toHaveLength(c.steps + 1);
  });

  for (const c of golden.cases) {
    it(c.name, () => {
      const opt = makeOptimizer(c.optimizer, c.groups, c.optimizerOptions);
      const s = build(opt, c);
      close('after construction', lrsOf(opt), c.lrs[0].map(kilnRate));
      if (c.momentums) close('momentum after construction', momentumOf(opt), c.momentums[0]);
      for (let k = 1; k <= c.steps; k++) {
        step(s, c.metrics?.[k - 1]);
        close(`after step ${k}`, lrsOf(opt), c.lrs[k].map(kilnRate));
        if (c.momentums) close(`momentum after step ${k}`, momentumOf(opt), c.momentums[k]);
      }
      close('getLastLr()', s.getLastLr(), c.lastLr.map(kilnRate));
      const sd = s.stateDict();
      expect(Object.keys(sd).sort(), 'stateDict keys').toEqual(c.stateDictKeys);
      if (c.subStateDictKeys) expect(sd._schedulers.map((x: object) => Object.keys(x).sort())).toEqual(c.subStateDictKeys);
      expect(sd.last_epoch).toBe(c.lastEpoch);
      if (c.stepCount !== undefined) expect(sd._step_count).toBe(c.stepCount);
      if (c.raisesNextStep) {
        const before = JSON.stringify(s.stateDict());
        expect(() => (s as LRScheduler).step()).toThrow(/OneCycleLR: tried to step \d+ times; the cycle has totalSteps = \d+/);
        expect(JSON.stringify(s.stateDict()), 'a refused step changes nothing').toBe(before);
      }
    });
  }

  it('the rates agree to within the stated tolerance (worst relative error printed)', () => {
    console.log(`schedulers: worst relative difference from PyTorch ${worst.toExponential(2)}`);
    expect(worst).toBeLessThanOrEqual(RTOL);
  });
});

describe('stateDict round trip', () => {
  // a checkpoint taken after `at` steps (through JSON, as a file would), loaded into a fresh
  // optimizer and scheduler built the same way, continues exactly as the uninterrupted run
  const picks: [string, number][] = [
    ['StepLR stepSize=7 gamma=0.5', 10],
    ['MultiStepLR repeated milestone [4,4,9]', 3],
    ['ExponentialLR gamma=0.9', 17],
    ['CosineAnnealingLR tMax=10 etaMin=0.001 past tMax', 13],
    ['LinearLR start=0.1 totalIters=20', 7],
    ['OneCycleLR epochs*stepsPerEpoch threePhase', 23],
    ['OneCycleLR Adam beta1 cycling', 11],
    ['SequentialLR LinearLR warmup -> CosineAnnealingLR', 9],
    ['SequentialLR ExponentialLR -> StepLR -> MultiStepLR', 12],
    ['ReduceLROnPlateau abs threshold cooldown minLr', 20],
    ['ReduceLROnPlateau max mode', 12],
  ];
  for (const [name, at] of picks) {
    it(`${name}: resumed after ${at} steps`, () => {
      const c = golden.cases.find((x: any) => x.name === name);
      expect(c, name).toBeDefined();
      const optA = makeOptimizer(c.optimizer, c.groups, c.optimizerOptions);
      const a = build(optA, c);
      for (let k = 1; k <= at; k++) step(a, c.metrics?.[k - 1]);
      const saved = JSON.parse(JSON.stringify(a.stateDict()));

      const optB = makeOptimizer(c.optimizer, c.groups, c.optimizerOptions);
      const b = build(optB, c);
      const optC = makeOptimizer(c.optimizer, c.groups, c.optimizerOptions);
      const fresh = build(optC, c); // control: the same run without the checkpoint
      b.loadStateDict(saved);
      expect(JSON.parse(JSON.stringify(b.stateDict()))).toEqual(saved);
      expect(lrsOf(optB)).toEqual(lrsOf(optA));
      if (c.momentums) expect(momentumOf(optB)).toEqual(momentumOf(optA));
      let differs = false;
      for (let k = at + 1; k <= c.steps; k++) {
        step(a, c.metrics?.[k - 1]); step(b, c.metrics?.[k - 1]); step(fresh, c.metrics?.[k - 1]);
        expect(lrsOf(optB), `step ${k}`).toEqual(lrsOf(optA));
        expect(b.getLastLr()).toEqual(a.getLastLr());
        if (c.momentums) expect(momentumOf(optB), `momentum step ${k}`).toEqual(momentumOf(optA));
        if (lrsOf(optC).some((v, i) => v !== lrsOf(optA)[i])) differs = true;
        close(`resumed step ${k} against PyTorch`, lrsOf(optB), c.lrs[k].map(kilnRate));
      }
      expect(JSON.stringify(b.stateDict())).toBe(JSON.stringify(a.stateDict()));
      // the checkpoint mattered: without it the schedule runs differently
      expect(differs, 'a fresh scheduler without the checkpoint follows another schedule').toBe(true);
    });
  }

  it('ReduceLROnPlateau: best = Infinity survives JSON (null) and reads back as the worst value', () => {
    const opt = makeOptimizer('SGD', [0.1]);
    const s = new ReduceLROnPlateau(opt, { patience: 0 });
    const sd = JSON.parse(JSON.stringify(s.stateDict()));
    expect(sd.best).toBe(null);
    const t = new ReduceLROnPlateau(makeOptimizer('SGD', [0.1]), { patience: 0 });
    t.loadStateDict(sd);
    expect(t.best).toBe(Infinity);
    t.step(5); // any number improves on Infinity: no reduction
    expect(t.getLastLr()).toEqual([0.1]);
    t.step(5); // no improvement, patience 0: reduce
    expect(t.getLastLr()[0]).toBeCloseTo(0.01, 15);
  });

  it('MultiStepLR stateDict holds PyTorch\'s Counter as {milestone: count}', () => {
    const s = new MultiStepLR(makeOptimizer('SGD', [0.1]), [4, 4, 9], { gamma: 0.3 });
    expect(s.stateDict().milestones).toEqual({ 4: 2, 9: 1 });
  });

  it('loadStateDict rejects unknown keys and wrong group counts', () => {
    const s = new StepLR(makeOptimizer('SGD', [0.1, 0.01]), 3);
    expect(() => s.loadStateDict({ ...s.stateDict(), stepSize: 3 })).toThrow(/StepLR: loadStateDict: unknown key 'stepSize'/);
    expect(() => s.loadStateDict({ ...s.stateDict(), base_lrs: [0.1] })).toThrow(/base_lrs must hold 2 numbers/);
    const p = new ReduceLROnPlateau(makeOptimizer('SGD', [0.1]));
    expect(() => p.loadStateDict({ ...p.stateDict(), mode: 'up' })).toThrow(/mode must be one of 'min', 'max'/);
  });
});

describe('bad arguments', () => {
  const sgd = () => makeOptimizer('SGD', [0.1, 0.01], { momentum: 0.9 });
  const cases: [string, () => unknown, RegExp][] = [
    ['not an optimizer', () => new StepLR({} as any, 3), /StepLR: the first argument must be a Kiln optimizer/],
    ['StepLR stepSize 0', () => new StepLR(sgd(), 0), /StepLR: stepSize must be an integer >= 1, got 0/],
    ['StepLR stepSize 2.5', () => new StepLR(sgd(), 2.5), /StepLR: stepSize must be an integer >= 1, got 2.5/],
    ['StepLR gamma 0', () => new StepLR(sgd(), 3, { gamma: 0 }), /StepLR: gamma must be a finite number > 0, got 0/],
    ['StepLR gamma NaN', () => new StepLR(sgd(), 3, { gamma: NaN }), /StepLR: gamma must be a finite number > 0, got NaN/],
    ['StepLR unknown option', () => new StepLR(sgd(), 3, { gama: 0.5 } as any), /StepLR: unknown option 'gama'; expected one of gamma/],
    ['MultiStepLR decreasing', () => new MultiStepLR(sgd(), [10, 5]), /MultiStepLR: milestones must be increasing, got \[10, 5\]/],
    ['MultiStepLR not an array', () => new MultiStepLR(sgd(), 5 as any), /MultiStepLR: milestones must be an array/],
    ['MultiStepLR negative gamma', () => new MultiStepLR(sgd(), [5], { gamma: -1 }), /MultiStepLR: gamma must be a finite number > 0/],
    ['ExponentialLR gamma 0', () => new ExponentialLR(sgd(), 0), /ExponentialLR: gamma must be a finite number > 0, got 0/],
    ['CosineAnnealingLR tMax 0', () => new CosineAnnealingLR(sgd(), 0), /CosineAnnealingLR: tMax must be an integer >= 1/],
    ['CosineAnnealingLR etaMin -1', () => new CosineAnnealingLR(sgd(), 10, { etaMin: -1 }), /CosineAnnealingLR: etaMin must be a finite number >= 0/],
    ['CosineAnnealingLR T_max option', () => new CosineAnnealingLR(sgd(), 10, { T_max: 3 } as any), /unknown option 'T_max'; expected one of etaMin/],
    ['LinearLR startFactor 0', () => new LinearLR(sgd(), { startFactor: 0 }), /LinearLR: startFactor must be a finite number in \(0, 1\], got 0/],
    ['LinearLR endFactor 2', () => new LinearLR(sgd(), { endFactor: 2 }), /LinearLR: endFactor must be a finite number in \[0, 1\], got 2/],
    ['LinearLR totalIters 0', () => new LinearLR(sgd(), { totalIters: 0 }), /LinearLR: totalIters must be an integer >= 1/],
    ['OneCycleLR no length', () => new OneCycleLR(sgd(), 0.1), /OneCycleLR: give either totalSteps or both epochs and stepsPerEpoch/],
    ['OneCycleLR epochs without stepsPerEpoch', () => new OneCycleLR(sgd(), 0.1, { epochs: 3 }), /OneCycleLR: stepsPerEpoch must be an integer >= 1, got undefined/],
    ['OneCycleLR totalSteps 0', () => new OneCycleLR(sgd(), 0.1, { totalSteps: 0 }), /OneCycleLR: totalSteps must be an integer >= 1/],
    ['OneCycleLR pctStart 1.5', () => new OneCycleLR(sgd(), 0.1, { totalSteps: 10, pctStart: 1.5 }), /OneCycleLR: pctStart must be a finite number in \[0, 1\]/],
    ['OneCycleLR annealStrategy', () => new OneCycleLR(sgd(), 0.1, { totalSteps: 10, annealStrategy: 'exp' as any }), /OneCycleLR: annealStrategy must be one of 'cos', 'linear', got "exp"/],
    ['OneCycleLR maxLr per group count', () => new OneCycleLR(sgd(), [0.1, 0.2, 0.3], { totalSteps: 10 }), /OneCycleLR: expected 2 values for maxLr \(one per parameter group\), got 3/],
    ['OneCycleLR maxLr 0', () => new OneCycleLR(sgd(), 0, { totalSteps: 10 }), /OneCycleLR: maxLr must be a finite number > 0/],
    ['OneCycleLR maxMomentum 1', () => new OneCycleLR(sgd(), 0.1, { totalSteps: 10, maxMomentum: 1 }), /OneCycleLR: maxMomentum must be a finite number in \[0, 1\)/],
    ['OneCycleLR momentum options without cycling', () => new OneCycleLR(sgd(), 0.1, { totalSteps: 10, cycleMomentum: false, baseMomentum: 0.8 }), /baseMomentum is used only with cycleMomentum: true/],
    ['SequentialLR milestone count', () => { const o = sgd(); return new SequentialLR(o, [new LinearLR(o), new ExponentialLR(o, 0.9)], []); }, /SequentialLR: expected 1 milestones \(one fewer than the 2 schedulers\)/],
    ['SequentialLR milestones not increasing', () => { const o = sgd(); return new SequentialLR(o, [new LinearLR(o), new ExponentialLR(o, 0.9), new StepLR(o, 2)], [5, 5]); }, /SequentialLR: milestones must be increasing, got \[5, 5\]/],
    ['SequentialLR other optimizer', () => { const o = sgd(); return new SequentialLR(o, [new LinearLR(o), new ExponentialLR(sgd(), 0.9)], [3]); }, /SequentialLR: schedulers\[1\] belongs to another optimizer/],
    ['SequentialLR with ReduceLROnPlateau', () => { const o = sgd(); return new SequentialLR(o, [new LinearLR(o), new ReduceLROnPlateau(o) as any], [3]); }, /SequentialLR: schedulers\[1\] must be a scheduler/],
    ['ReduceLROnPlateau factor 1', () => new ReduceLROnPlateau(sgd(), { factor: 1 }), /ReduceLROnPlateau: factor must be a finite number in \[0, 1\), got 1/],
    ['ReduceLROnPlateau mode', () => new ReduceLROnPlateau(sgd(), { mode: 'minimum' as any }), /ReduceLROnPlateau: mode must be one of 'min', 'max', got "minimum"/],
    ['ReduceLROnPlateau thresholdMode', () => new ReduceLROnPlateau(sgd(), { thresholdMode: 'relative' as any }), /thresholdMode must be one of 'rel', 'abs'/],
    ['ReduceLROnPlateau patience -1', () => new ReduceLROnPlateau(sgd(), { patience: -1 }), /ReduceLROnPlateau: patience must be an integer >= 0, got -1/],
    ['ReduceLROnPlateau minLr list length', () => new ReduceLROnPlateau(sgd(), { minLr: [0.1] }), /ReduceLROnPlateau: expected 2 values for minLr/],
    ['ReduceLROnPlateau unknown option', () => new ReduceLROnPlateau(sgd(), { min_lr: 0.1 } as any), /ReduceLROnPlateau: unknown option 'min_lr'/],
    ['ReduceLROnPlateau step(tensor)', () => new ReduceLROnPlateau(sgd()).step(kn.tensor([1], [1]) as any), /ReduceLROnPlateau: step\(metric\) takes a number, got Tensor \(read a tensor first: await loss.item\(\)\)/],
    ['ReduceLROnPlateau step()', () => (new ReduceLROnPlateau(sgd()) as any).step(), /ReduceLROnPlateau: step\(metric\) takes a number, got nothing/],
  ];
  for (const [name, f, re] of cases) it(name, () => { expect(f).toThrow(re); });

  it('OneCycleLR cycleMomentum needs momentum or betas', () => {
    // Kiln's optimizers all have one today; a group without either is refused with a hint
    const opt = makeOptimizer('SGD', [0.1]);
    delete (opt.paramGroups[0] as any).momentum;
    expect(() => new OneCycleLR(opt, 0.1, { totalSteps: 5 })).toThrow(/OneCycleLR: cycleMomentum needs an optimizer with momentum \(SGD\) or betas \(Adam, AdamW\); pass cycleMomentum: false/);
    expect(() => new OneCycleLR(opt, 0.1, { totalSteps: 5, cycleMomentum: false })).not.toThrow();
  });

  it('OneCycleLR: exactly totalSteps steps are allowed after construction', () => {
    const s = new OneCycleLR(makeOptimizer('SGD', [0.1]), 0.1, { totalSteps: 4 });
    for (let i = 0; i < 4; i++) s.step();
    expect(() => s.step()).toThrow(/OneCycleLR: tried to step 6 times; the cycle has totalSteps = 4/);
  });
});

describe('a compiled training step driven by a scheduler', () => {
  // Linear(5, 3) on fixed data, SGD with momentum, crossEntropy; 20 steps with the scheduler
  // stepped after each. The compiled run must equal the eager run (same kernels up to fusion:
  // float32, RTOL 1e-5, ATOL 1e-6, as the optimizer tests), trace once, and differ from the
  // same compiled run at a constant rate (so the rate changes really reached the GPU).
  const N = 8, IN = 5, OUT = 3, STEPS = 20;
  const xs = Array.from({ length: N * IN }, (_, i) => Math.sin(i * 1.7) * 2);
  const ys = Array.from({ length: N }, (_, i) => (i * 7) % OUT);

  async function run(mode: 'eager' | 'compiled', sched: 'StepLR' | 'OneCycleLR' | 'none') {
    kn.manualSeed(3);
    const model = new kn.nn.Linear(IN, OUT);
    const init = { weight: kn.tensor(Array.from({ length: OUT * IN }, (_, i) => Math.cos(i) * 0.3), [OUT, IN]), bias: kn.tensor([0.1, -0.2, 0.05], [OUT]) };
    model.loadStateDict(init);
    const opt = new kn.optim.SGD(model.parameters(), { lr: 0.5, momentum: 0.9 });
    const s = sched === 'StepLR' ? new StepLR(opt, 4, { gamma: 0.5 })
      : sched === 'OneCycleLR' ? new OneCycleLR(opt, 1.0, { totalSteps: STEPS, cycleMomentum: false })
        : null;
    const x = kn.tensor(xs, [N, IN]), y = kn.tensor(Int32Array.from(ys), [N], { dtype: 'int32' });
    const body = (xb: kn.Tensor, yb: kn.Tensor) => {
      opt.zeroGrad();
      const loss = kn.F.crossEntropy(model.forward(xb), yb);
      loss.backward();
      opt.step();
      return loss;
    };
    const compiled = kn.compile(body);
    const lrs: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      lrs.push(opt.paramGroups[0].lr);
      if (mode === 'compiled') await compiled(x, y);
      else await body(x, y).item();
      s?.step();
    }
    const sd = model.stateDict();
    const params = { weight: Array.from(await sd.weight.add(0).data()), bias: Array.from(await sd.bias.add(0).data()) };
    return { params, lrs, traces: mode === 'compiled' ? compiled.stats().traces : 0 };
  }

  function near(what: string, a: number[], b: number[], rtol = 1e-5, atol = 1e-6): void {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      if (!(Math.abs(a[i] - b[i]) <= atol + rtol * Math.abs(b[i]))) expect.fail(`${what}[${i}]: compiled ${a[i]}, eager ${b[i]}`);
    }
  }

  for (const sched of ['StepLR', 'OneCycleLR'] as const) {
    it(`${sched}: compiled equals eager, one trace, and the schedule mattered`, async () => {
      const eager = await run('eager', sched);
      const comp = await run('compiled', sched);
      const flat = await run('compiled', 'none');
      expect(comp.traces).toBe(1);
      expect(new Set(comp.lrs).size, 'the rate changed during the run').toBeGreaterThan(3);
      expect(comp.lrs).toEqual(eager.lrs);
      near('weight', comp.params.weight, eager.params.weight);
      near('bias', comp.params.bias, eager.params.bias);
      const gap = Math.max(...comp.params.weight.map((v, i) => Math.abs(v - flat.params.weight[i])));
      expect(gap, 'scheduled and constant-rate runs end apart').toBeGreaterThan(1e-3);
    });
  }
});
