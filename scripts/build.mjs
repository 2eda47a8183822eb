// Builds the ES module bundles: dist/kiln.js for browsers (no Node-only code) and
// dist/kiln.node.js for Node (Dawn's `webgpu` package stays an external import).
import * as esbuild from 'esbuild';
import fs from 'node:fs';

const common = { entryPoints: ['src/index.ts'], bundle: true, format: 'esm', target: 'es2022', sourcemap: true, logLevel: 'warning' };
await esbuild.build({ ...common, outfile: 'dist/kiln.js', platform: 'browser', external: ['webgpu', 'node:*'], minify: true });
await esbuild.build({ ...common, outfile: 'dist/kiln.node.js', platform: 'node', external: ['webgpu'] });
const size = fs.statSync('dist/kiln.js').size;
console.log(`build: dist/kiln.js ${(size / 1024).toFixed(1)} KiB, dist/kiln.node.js`);
