// The per-adapter tuning cache: which configuration each kernel shape runs best with on this
// adapter (the tuner in src/graph measures them). Kept in memory, and across runs in a JSON file
// (Node), the origin private file system or IndexedDB (browser), whichever exists; without one,
// in memory only. One file holds every adapter's choices, each under a key made from the
// adapter's info and the cache format, so a second adapter or format never reads another's.

/** Bumped when a configuration's meaning changes: old entries are then never read. */
export const TUNING_FORMAT = 1;

export interface Measurement { label: string; config: unknown; ms: number }
export interface TunedEntry {
  /** the configuration to use */
  config: unknown;
  /** each measured candidate's time per dispatch (empty when there was nothing to compare) */
  ms: Measurement[];
  /** 'cache': read from the cache at kn.init; 'measured': measured by this process */
  source: 'cache' | 'measured';
}

export interface TuningOptions {
  /**
   * Node: the cache file, or false to keep choices in memory only. Default: $KILN_TUNING_CACHE
   * ('off': memory only), else $XDG_CACHE_HOME/kiln/tuning.json, else ~/.cache/kiln/tuning.json.
   * Browser: false keeps them in memory only; any other value uses OPFS or IndexedDB.
   */
  cache?: string | false;
}

interface Backend { where: string; read(): Promise<string | undefined>; write(text: string): Promise<void> }
interface AdapterInfo { vendor: string; architecture: string; device: string; description: string }

const FILE_NAME = 'tuning.json';
const MAGIC = 'kiln-tuning-cache';

/** The key of an adapter's section: its info and the cache format. */
export function adapterKey(a: AdapterInfo): string {
  return JSON.stringify([`format ${TUNING_FORMAT}`, a.vendor, a.architecture, a.device, a.description]);
}

const env = (): Record<string, string | undefined> => (globalThis as any).process?.env ?? {};
const isNode = () => typeof (globalThis as any).process?.versions?.node === 'string' && !(globalThis as any).navigator?.gpu;

class TuningStore {
  /** false: defaults only, no measuring, the cache neither read nor written */
  enabled = true;
  private entries = new Map<string, TunedEntry>();
  private adapter = adapterKey({ vendor: '', architecture: '', device: '', description: '' });
  private backend: Backend | undefined;
  private saving: Promise<void> = Promise.resolve();
  private writeFailed = false;

  /** Where choices persist ('memory' when nowhere). */
  get where(): string { return this.backend?.where ?? 'memory'; }

  /** At kn.init: picks the backend for `options` and loads this adapter's choices. */
  async open(adapter: AdapterInfo, option: boolean | TuningOptions | undefined): Promise<void> {
    checkTuningOption(option);
    const envOff = /^(0|off|false|no)$/i.test(env().KILN_TUNING ?? '');
    this.enabled = option === undefined ? !envOff : option !== false;
    this.adapter = adapterKey(adapter);
    this.entries.clear();
    const cache = typeof option === 'object' ? option.cache : undefined;
    this.backend = this.enabled ? await pickBackend(cache) : undefined;
    await this.load();
  }

  get(key: string): TunedEntry | undefined { return this.entries.get(key); }
  set(key: string, e: TunedEntry): void { this.entries.set(key, e); }
  list(): [string, TunedEntry][] { return [...this.entries]; }
  /** Forgets every choice held in memory (the cache file stays). */
  clearMemory(): void { this.entries.clear(); }

  /** Replaces the choices in memory with this adapter's section of the cache. A corrupt cache is ignored with one warning. */
  async load(): Promise<void> {
    if (!this.backend) return;
    const parsed = await this.readAll(true);
    this.entries.clear();
    for (const [k, e] of Object.entries(parsed[this.adapter] ?? {})) this.entries.set(k, { ...e, source: 'cache' });
  }

  /** Writes this adapter's choices into the cache, keeping the other adapters' sections and other entries. Serialised. */
  save(): Promise<void> {
    const run = async () => {
      if (!this.backend) return;
      const all = await this.readAll(false);
      // entry by entry: another process's choices for other kernel shapes stay
      all[this.adapter] = { ...all[this.adapter], ...Object.fromEntries([...this.entries].map(([k, e]) => [k, { config: e.config, ms: e.ms }])) };
      await this.backend.write(JSON.stringify({ format: MAGIC, adapters: all }, null, 1) + '\n');
    };
    const r = this.saving.then(run, run);
    // a failed write leaves the choices in memory; reported once per process, not per kernel shape
    this.saving = r.catch((e) => {
      if (!this.writeFailed) console.warn(`Kiln: could not write the tuning cache (${this.where}): ${(e as Error).message}; choices stay in memory`);
      this.writeFailed = true;
    });
    return this.saving;
  }

  /** Resolves when the writes asked for so far are done. */
  flushed(): Promise<void> { return this.saving; }

  /** Every adapter's section; an unreadable cache is empty (and, if `warn`, reported once). */
  private async readAll(warn: boolean): Promise<Record<string, Record<string, Omit<TunedEntry, 'source'>>>> {
    let text: string | undefined;
    try { text = await this.backend!.read(); } catch (e) {
      if (warn) console.warn(`Kiln: could not read the tuning cache (${this.where}): ${(e as Error).message}; starting untuned`);
      return {};
    }
    if (text === undefined) return {};
    const why = (() => {
      let data: any;
      try { data = JSON.parse(text); } catch (e) { return `not JSON (${(e as Error).message})`; }
      if (data?.format !== MAGIC || typeof data.adapters !== 'object' || data.adapters === null) return `not a Kiln tuning cache (no "format": "${MAGIC}" and "adapters")`;
      for (const section of Object.values(data.adapters)) {
        if (typeof section !== 'object' || section === null) return 'an adapter\'s section is not an object';
        for (const e of Object.values(section as object)) {
          if (typeof e !== 'object' || e === null || typeof e.config !== 'object' || !Array.isArray(e.ms)) return 'an entry lacks its config or its ms list';
        }
      }
      return data.adapters;
    })();
    if (typeof why === 'string') {
      if (warn) console.warn(`Kiln: ignoring the tuning cache at ${this.where}: ${why}; it will be rewritten`);
      return {};
    }
    return why;
  }
}

export const tuningStore = new TuningStore();

export function checkTuningOption(o: unknown): void {
  if (o === undefined || typeof o === 'boolean') return;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new Error(`kn.init: options.tuning must be true, false or {cache}, got ${JSON.stringify(o)}`);
  for (const k of Object.keys(o)) if (k !== 'cache') throw new Error(`kn.init: options.tuning has an unknown field '${k}'; expected only 'cache'`);
  const c = (o as TuningOptions).cache;
  if (c !== undefined && c !== false && (typeof c !== 'string' || !c)) throw new Error(`kn.init: options.tuning.cache must be a file path or false, got ${JSON.stringify(c)}`);
}

async function pickBackend(cache: string | false | undefined): Promise<Backend | undefined> {
  if (cache === false) return undefined;
  if (isNode()) {
    const fromEnv = env().KILN_TUNING_CACHE;
    if (cache === undefined && fromEnv !== undefined && /^(|off|none|memory)$/i.test(fromEnv)) return undefined;
    return nodeFile(cache ?? fromEnv ?? await defaultPath());
  }
  return (await opfs()) ?? indexedDb();
}

async function defaultPath(): Promise<string> {
  const path = await import('node:path');
  const os = await import('node:os');
  const base = env().XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'kiln', FILE_NAME);
}

/** A JSON file, written to a temporary file beside it and renamed over it (a reader sees the old or the new whole). */
function nodeFile(file: string): Backend {
  return {
    where: file,
    async read() {
      const fs = await import('node:fs/promises');
      try { return await fs.readFile(file, 'utf8'); } catch (e) {
        // no such file (or no such directory): no cache yet
        if (['ENOENT', 'ENOTDIR'].includes((e as { code?: string }).code ?? '')) return undefined;
        throw e;
      }
    },
    async write(text) {
      const fs = await import('node:fs/promises');
      const path = await import('node:path');
      await fs.mkdir(path.dirname(path.resolve(file)), { recursive: true });
      const tmp = `${file}.${(globalThis as any).process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
      try {
        await fs.writeFile(tmp, text);
        await fs.rename(tmp, file);
      } catch (e) {
        await fs.unlink(tmp).catch(() => {});
        throw e;
      }
    },
  };
}

/** The origin private file system; its writable streams swap the file in whole on close. */
async function opfs(): Promise<Backend | undefined> {
  const storage = (globalThis as any).navigator?.storage;
  const handle = (globalThis as any).FileSystemFileHandle;
  if (typeof storage?.getDirectory !== 'function' || typeof handle?.prototype?.createWritable !== 'function') return undefined;
  let dir: any;
  try { dir = await storage.getDirectory(); } catch { return undefined; }
  return {
    where: `OPFS ${FILE_NAME}`,
    async read() {
      let f: any;
      try { f = await dir.getFileHandle(FILE_NAME); } catch (e) {
        if ((e as Error).name === 'NotFoundError') return undefined;
        throw e;
      }
      return (await f.getFile()).text();
    },
    async write(text) {
      const w = await (await dir.getFileHandle(FILE_NAME, { create: true })).createWritable();
      await w.write(text);
      await w.close();
    },
  };
}

/** IndexedDB: one record in database 'kiln', store 'tuning'. */
function indexedDb(): Backend | undefined {
  const idb = (globalThis as any).indexedDB;
  if (!idb) return undefined;
  const open = () => new Promise<any>((res, rej) => {
    const r = idb.open('kiln', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('tuning');
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const request = async <T>(mode: string, fn: (s: any) => any) => {
    const db = await open();
    try {
      return await new Promise<T>((res, rej) => {
        const r = fn(db.transaction('tuning', mode).objectStore('tuning'));
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
    } finally { db.close(); }
  };
  return {
    where: 'IndexedDB kiln/tuning',
    read: () => request<string | undefined>('readonly', (s) => s.get(FILE_NAME)),
    async write(text) { await request('readwrite', (s) => s.put(text, FILE_NAME)); },
  };
}
