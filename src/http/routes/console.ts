import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

/** The console's files, beside this plugin's folder; read once when the server starts. */
const consoleDir = new URL('../console/', import.meta.url);

const FILES = [
  { path: '/console', file: 'index.html', type: 'text/html; charset=utf-8' },
  { path: '/console/console.js', file: 'console.js', type: 'text/javascript; charset=utf-8' },
  { path: '/console/console.css', file: 'console.css', type: 'text/css; charset=utf-8' },
] as const;

/**
 * Only this origin's files, no inline script or style, no frames, no plugins; the page talks to
 * this origin's API only. A page that can run nothing foreign cannot leak the key it holds.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * The reviewer console: a static page, one script and one stylesheet. The files need no key
 * (they hold no data); every call the page makes to the API carries the key the person enters.
 */
export async function consoleRoutes(app: FastifyInstance): Promise<void> {
  const files = await Promise.all(
    FILES.map(async (entry) => ({ ...entry, body: await readFile(new URL(entry.file, consoleDir)) })),
  );
  for (const { path, type, body } of files) {
    app.get(path, { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .type(type)
        .header('content-security-policy', CONSOLE_CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('x-frame-options', 'DENY')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
}
