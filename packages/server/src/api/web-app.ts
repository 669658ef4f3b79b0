import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

import { failure, RESPONSE_CODES } from './envelope.js';

/**
 * The web apps (DESIGN §1.4) on the API port: `/` is Search and Play, `/admin` Administration.
 * Both are one single-page app built by packages/web (Vite) into static files; every page path
 * answers its index.html (no-cache, so a new build is picked up at once) and the app routes on
 * location.pathname. The bundles under /assets/ carry a content hash in their names, so they are
 * cached for a year. A small handler rather than @fastify/static: two folders, a handful of files.
 */

/** Page paths answered with index.html: the two apps and any sub-path of them (client routing). */
const PAGE_PATHS = ['/', '/admin', '/admin/*', '/search/*'];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Verbatim: web app not built</title></head>
<body><main><h1>The web app was not built</h1>
<p>This Verbatim node serves its API, but the Search and Play and Administration pages were not
built. Build them from the repository with <code>npm run build</code> (or
<code>npm run build -w @verbatim/web</code>), then reload this page.</p></main></body></html>
`;

/** The built app's folder: packages/web/dist, from src/api or dist/api of packages/server alike. */
export function defaultWebRoot(): string {
  // fileURLToPath, not .pathname: a checkout under a folder with a space or non-ASCII name.
  return fileURLToPath(new URL('../../../web/dist', import.meta.url));
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export function registerWebApp(app: FastifyInstance, root: string): void {
  const assets = join(root, 'assets');

  const page = async (reply: FastifyReply) => {
    const index = join(root, 'index.html');
    void reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
    if (!(await isFile(index))) {
      // 503: the node works, this part of it is not installed; the page says how to fix it.
      return reply.code(503).send(NOT_BUILT_PAGE);
    }
    return reply.send(await readFile(index));
  };
  for (const url of PAGE_PATHS) {
    app.get(url, (_request, reply) => page(reply));
  }

  app.get<{ Params: { '*': string } }>('/assets/*', async (request, reply) => {
    const file = resolve(assets, request.params['*']);
    // resolve() folds `..`: anything that lands outside the assets folder is simply not there.
    if (!file.startsWith(assets + sep) || !(await isFile(file))) {
      return reply
        .code(404)
        .send(failure(RESPONSE_CODES.unknownApi, `no web app file at ${request.url.slice(0, 200)}`));
    }
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .type(CONTENT_TYPES[extname(file)] ?? 'application/octet-stream')
      .send(await readFile(file));
  });
}
