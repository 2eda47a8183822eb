// What the main job needs from each model: its defaults and a function that trains it,
// printing progress and results and writing its plot.
export interface RunOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  outDir: string;
  /** mixed precision: autocast (float16 matmuls) and a GradScaler */
  amp: boolean;
}

export interface Recipe {
  defaults: { epochs: number; batchSize: number; lr: number };
  run(opts: RunOptions): Promise<void>;
}
