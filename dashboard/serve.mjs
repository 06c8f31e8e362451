// Serves the dashboard on 127.0.0.1. At start it bundles app.js with its @polkadot imports
// (esbuild, in memory, about a second); nothing is loaded from the internet.
//
//   node serve.mjs [--port 8080]

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('.', import.meta.url));
const FILES = new Set(['/index.html', '/style.css']);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

const portFlag = process.argv.indexOf('--port');
const port = portFlag >= 0 ? Number(process.argv[portFlag + 1]) : 8080;

const bundle = await build({
  entryPoints: [join(ROOT, 'app.js')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  write: false,
  logLevel: 'warning',
});
const app = bundle.outputFiles[0].contents;

const server = createServer(async (request, response) => {
  const path = new URL(request.url, 'http://localhost').pathname;
  const page = path === '/' ? '/index.html' : path;
  if (request.method !== 'GET' || !(page === '/app.js' || FILES.has(page))) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    return;
  }
  try {
    const body = page === '/app.js' ? app : await readFile(join(ROOT, page.slice(1)));
    response.writeHead(200, { 'content-type': `${TYPES[extname(page)]}; charset=utf-8` }).end(body);
  } catch (error) {
    response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`);
  }
});
server.listen(port, '127.0.0.1', () => {
  console.log(`Tessera dashboard on http://127.0.0.1:${server.address().port}/ (add ?rpc=ws://host:port)`);
});
// Browsers keep connections open, so waiting for them to close could take forever.
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
