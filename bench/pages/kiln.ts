// Page: Kiln, from the built bundle dist/kiln.js, through the pinned public API (DESIGN.md section 6).
// The bundle is imported at run time (not bundled into this page), so this page measures exactly
// what `npm run build` produced; while it is missing, every Kiln row reports the import error.
// The workloads themselves are in kiln_workloads.ts, shared with the Node runner (bench/node.ts).
import { adapterInfo, expose } from './common';
import { kilnWorkloads } from './kiln_workloads';

// `?kiln=/path/to/bundle.js` (run.ts --kiln=PATH) tests another build
const KILN_URL = new URLSearchParams(location.search).get('kiln') ?? '/dist/kiln.js';
let knP: Promise<any> | undefined;
function kiln(): Promise<any> {
  knP ??= (async () => {
    let kn: any;
    try {
      kn = await import(/* @vite-ignore */ KILN_URL);
    } catch (e) {
      const head = await fetch(KILN_URL, { method: 'HEAD' }).catch(() => undefined);
      const why = head && !head.ok ? `HTTP ${head.status} (run \`npm run build\` first)` : (e as Error)?.message ?? String(e);
      throw new Error(`cannot import ${KILN_URL}: ${why}`);
    }
    if (typeof kn.init !== 'function') throw new Error(`${KILN_URL} does not export init()`);
    await kn.init();
    return kn;
  })();
  return knP;
}

expose({ adapter: adapterInfo, ...kilnWorkloads(kiln) });
