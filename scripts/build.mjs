// Builds the ES module bundles: dist/kiln.js for browsers (no Node-only code),
// dist/kiln.node.js for Node (Dawn's `webgpu` package stays an external import), and
// dist/char_gpt.js for demo/gpt.html: demo/char_gpt.ts, whose import of the engine
// (src/index.ts) becomes an import of /dist/kiln.js, so the page and the model share one copy.
import * as esbuild from 'esbuild';
import fs from 'node:fs';

const bundle = { bundle: true, format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning' };
const common = { ...bundle, entryPoints: ['src/index.ts'] };
await esbuild.build({ ...common, outfile: 'dist/kiln.js', platform: 'browser', external: ['webgpu', 'node:*'], minify: true });
await esbuild.build({ ...common, outfile: 'dist/kiln.node.js', platform: 'node', external: ['webgpu'] });
const engineFromBundle = {
  name: 'engine-from-bundle',
  setup(build) { build.onResolve({ filter: /\/src\/index\.ts$/ }, () => ({ path: '/dist/kiln.js', external: true })); },
};
await esbuild.build({ ...bundle, entryPoints: ['demo/char_gpt.ts'], outfile: 'dist/char_gpt.js', platform: 'browser', plugins: [engineFromBundle] });
const size = fs.statSync('dist/kiln.js').size;
console.log(`build: dist/kiln.js ${(size / 1024).toFixed(1)} KiB, dist/kiln.node.js, dist/char_gpt.js`);
