// Node file I/O for checkpoints: an atomic write (temp file in the same directory, fsync,
// rename over the target, fsync the directory) and a read. Node's modules are imported
// dynamically inside the functions, so this file is inert in a browser bundle (checkpoint.ts
// reaches it only when running in Node).

/** Test hooks: run between the steps of an atomic write (throw to simulate a failure). */
export interface AtomicWriteHooks { afterWrite?(tmpPath: string): void | Promise<void> }

const isMissing = (e: unknown) => (e as { code?: string })?.code === 'ENOENT';

/**
 * Writes `bytes` to `path` so that a reader sees either the old file or the whole new one:
 * the bytes go to `.<name>.<pid>.<random>.tmp` beside the target, are fsynced, renamed over
 * the target, and the directory is fsynced so the rename survives a power loss. On an error
 * the temp file is removed and the old file is left as it was.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  const fsp = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const dir = nodePath.dirname(nodePath.resolve(path));
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let fh: Awaited<ReturnType<typeof fsp.open>> | null = null;
  try {
    fh = await fsp.open(tmp, 'wx', 0o644);
    let at = 0;
    while (at < bytes.length) {
      const { bytesWritten } = await fh.write(bytes, at, bytes.length - at);
      at += bytesWritten;
    }
    await fh.sync();
    await fh.close();
    fh = null;
    await hooks.afterWrite?.(tmp);
    await fsp.rename(tmp, path);
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw e;
  }
  // persist the rename; some platforms (Windows) cannot open a directory: skip there
  let dh: Awaited<ReturnType<typeof fsp.open>> | null = null;
  try {
    dh = await fsp.open(dir, 'r');
    await dh.sync();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EACCES') throw e;
  } finally {
    await dh?.close().catch(() => {});
  }
}

/** The whole file, or an error that names the path. */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const fsp = await import('node:fs/promises');
  try {
    const b = await fsp.readFile(path);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } catch (e) {
    if (isMissing(e)) throw new Error(`no checkpoint at ${path} (file not found)`);
    throw e;
  }
}
