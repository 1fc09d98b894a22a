import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BASE_HEADERS } from './respond.js';

/** The page ships in the package in dist/dashboard (`npm run build` copies it into dist). */
export const PAGE_DIR = fileURLToPath(new URL('../../dashboard/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Only our own files, and nothing inline: a title an app chose is text, never markup or script, even if
 * a bug in the page put it in the wrong place.
 */
const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** Shown to a browser that comes without the token; not one of the dashboard's own files. */
const SIGN_IN_PAGE = 'sign-in.html';

interface Asset {
  readonly type: string;
  readonly body: Buffer;
}

/**
 * The page's files, read once at start into memory (a few tens of KiB): requests map to this fixed set
 * by name, so no request path ever reaches the file system.
 */
export class StaticFiles {
  readonly #assets = new Map<string, Asset>();
  #signInPage: Buffer | null = null;

  constructor(dir: string = PAGE_DIR) {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (name === SIGN_IN_PAGE) {
        this.#signInPage = readFileSync(join(dir, name));
        continue;
      }
      const type = TYPES[extname(name)];
      if (type) this.#assets.set(`/${name}`, { type, body: readFileSync(join(dir, name)) });
    }
  }

  /** The page a browser without the token gets (with the 401), or null when the package lacks it. */
  get signInPage(): Buffer | null {
    return this.#signInPage;
  }

  get loaded(): boolean {
    return this.#assets.has('/index.html');
  }

  /** Serves `path` (`/` is the page); false when there is no such file. */
  serve(path: string, response: ServerResponse, head: boolean): boolean {
    const asset = this.#assets.get(path === '/' ? '/index.html' : path);
    if (!asset) return false;
    response.writeHead(200, {
      ...BASE_HEADERS,
      'Content-Type': asset.type,
      'Content-Length': asset.body.length,
      'Content-Security-Policy': PAGE_POLICY,
    });
    response.end(head ? undefined : asset.body);
    return true;
  }
}
