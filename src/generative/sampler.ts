// Compiled samplers: a sampler is one kn.compile'd program per shape (the number of samples,
// the steps of an interpolation), traced at its first call and replayed after, with device
// noise drawn fresh in each replay and no gradient recorded.
import { Tensor } from '../graph/tensor.js';
import { noGrad } from '../graph/state.js';
import { compile, type CompiledFunction } from '../graph/jit.js';

type Program = CompiledFunction<Tensor[], Tensor>;

/** A cache of compiled programs keyed by a string (the shape they were built for). */
export class SamplerCache {
  #programs = new Map<string, Program>();

  /**
   * Runs `build(...args)` as a compiled program for `key`, tracing it on the first call with
   * that key. `build` must depend only on the key, its tensor arguments and module state.
   */
  run(key: string, build: (...args: Tensor[]) => Tensor, args: Tensor[] = []): Promise<Tensor> {
    let p = this.#programs.get(key);
    if (!p) {
      p = compile((...a: Tensor[]) => noGrad(() => build(...a)));
      this.#programs.set(key, p);
    }
    return p(...args);
  }

  /** The program for `key` (undefined before its first run): for its kernels and stats. */
  program(key: string): Program | undefined { return this.#programs.get(key); }
}
