// The one loader of PyTorch's golden vectors (test/golden/*.json). Each generator writes
// "counts", the length of every top-level list it wrote (golden_json.with_counts); a file
// whose lists do not hold that many entries fails here, so an emptied list of cases cannot
// pass a test that loops over it.
import { readFileSync } from 'node:fs';

export function loadGolden(name: string): any {
  return checkCounts(name, JSON.parse(readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8')));
}

export function checkCounts<O extends Record<string, unknown>>(name: string, obj: O): O {
  const counts = obj.counts as Record<string, number> | undefined;
  if (!counts) throw new Error(`golden/${name}: no "counts" (regenerate it with its gen_*.py)`);
  const lists = Object.keys(obj).filter((k) => Array.isArray(obj[k]));
  for (const k of new Set([...lists, ...Object.keys(counts)])) {
    const got = Array.isArray(obj[k]) ? (obj[k] as unknown[]).length : undefined;
    if (got !== counts[k] || !(got > 0)) {
      throw new Error(`golden/${name}: list '${k}' holds ${got ?? 'nothing'}, the generator wrote ${counts[k] ?? 'no count'}`);
    }
  }
  return obj;
}
