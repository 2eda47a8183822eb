// One test file at a time: every file owns a WebGPU device, and software WebGPU on two
// cores gains nothing from running several at once.
export default {
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120000,
    hookTimeout: 120000,
    fileParallelism: false,
    pool: 'forks',
    // kernels keep their default shapes, so runs are repeatable and no cache is written under
    // ~/.cache; test/tuning.test.ts turns tuning on with its own cache file
    env: { KILN_TUNING: 'off' },
  },
};
