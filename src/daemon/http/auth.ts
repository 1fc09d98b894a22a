import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** 32 random bytes: a new one at every daemon start, so a leaked URL dies with the daemon. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Compares in constant time. Both sides are hashed first so that the comparison takes as long whatever
 * the length of the guess (timingSafeEqual itself throws on different lengths, which would leak it).
 */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The cookie's name carries the port: cookies are per host, not per port, so two daemons (two homes)
 * on 127.0.0.1 would otherwise overwrite each other's.
 */
export function cookieName(port: number): string {
  return `bgtasks_${port}`;
}

/** The token a request presents: `Authorization: Bearer`, else the page's cookie; null when none. */
export function presentedToken(request: IncomingMessage, port: number): string | null {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match ? match[1]! : '';
  }
  const name = cookieName(port);
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return null;
}

const LOCAL_NAMES = new Set(['127.0.0.1', 'localhost']);

/**
 * DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 reaches this server
 * with `Host: evil.example`. Only our own names (with our port, or none) are answered.
 */
export function hostAllowed(host: string | undefined, port: number, boundNames: readonly string[] = []): boolean {
  if (!host) return false;
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(host.toLowerCase());
  if (!match || !isOurName(match[1]!, boundNames)) return false;
  return match[2] === undefined || Number(match[2]) === port;
}

/**
 * 127.0.0.1 and localhost, and the addresses the server was told to answer on (`--http-host`: that
 * address, or every address of this machine for 0.0.0.0 and ::). Never a name: a DNS rebinding attack
 * needs one.
 */
function isOurName(name: string, boundNames: readonly string[]): boolean {
  const bare = name.startsWith('[') && name.endsWith(']') ? name.slice(1, -1) : name;
  return LOCAL_NAMES.has(bare) || boundNames.some((bound) => bound.toLowerCase() === bare);
}

/**
 * Another local origin (a dev server on localhost:3000 is the same *site*, so SameSite does not stop
 * it) must not drive the API with the page's cookie. Browsers send Origin on every POST and on
 * cross-origin reads; when it is there it must be us.
 */
export function originAllowed(origin: string | undefined, port: number, boundNames: readonly string[] = []): boolean {
  if (origin === undefined) return true;
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && isOurName(url.hostname, boundNames) && Number(url.port) === port;
  } catch {
    return false;
  }
}
