// A small static file server for the repository root, on an ephemeral localhost port.
// WebGPU needs a secure context, and http://localhost counts as one.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.css': 'text/css',
};

export interface StaticServer {
  origin: string;
  close(): Promise<void>;
}

/** Serves files under `root`; `/bench/page/<name>.html` is a generated page that loads `/bench/.build/<name>.js`. */
export async function serveRepo(root: string): Promise<StaticServer> {
  const rootAbs = path.resolve(root);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const page = /^\/bench\/page\/([\w-]+)\.html$/.exec(url.pathname);
    if (page) {
      res.writeHead(200, { 'content-type': TYPES['.html'], 'cache-control': 'no-store' });
      res.end(`<!doctype html><meta charset="utf-8"><title>kiln bench: ${page[1]}</title>\n` +
        `<script type="module" src="/bench/.build/${page[1]}.js"></script>\n`);
      return;
    }
    const file = path.resolve(rootAbs, '.' + decodeURIComponent(url.pathname));
    if (!file.startsWith(rootAbs + path.sep)) { res.writeHead(403).end(); return; }
    fs.stat(file, (err, st) => {
      if (err || !st.isFile()) { res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`); return; }
      res.writeHead(200, {
        'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'content-length': st.size,
        'cache-control': 'no-store',
      });
      fs.createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
