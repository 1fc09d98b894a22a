import { randomBytes } from 'node:crypto';
import { sameToken } from './auth.js';

/** `POST` with the token: a one-time code for the address `bgtasks dashboard` gives the browser opener. */
export const SIGN_IN_CODES_PATH = '/v1/sign-in-codes';
/** Long enough for a browser to start cold; short enough that a code seen in `ps` is worthless. */
export const SIGN_IN_CODE_TTL_MS = 30_000;
/** Codes waiting at once; a new one beyond this drops the oldest. */
const MAX_OUTSTANDING = 8;

/**
 * One-time codes that stand for the dashboard's token in an address given to the browser opener. The
 * opener's argv is visible to every local user (`ps`, /proc/PID/cmdline), so the address it is given
 * must carry nothing reusable: `bgtasks dashboard` asks for a code (with the token, over HTTP), opens
 * `/?code=…`, and the first request with it gets the session cookie. A code works once, for
 * {@link SIGN_IN_CODE_TTL_MS}.
 */
export class SignInCodes {
  readonly #now: () => number;
  /** code → when it expires, oldest first. */
  readonly #codes = new Map<string, number>();

  constructor(now: () => number) {
    this.#now = now;
  }

  mint(): { code: string; expiresInMs: number } {
    this.#dropExpired();
    if (this.#codes.size >= MAX_OUTSTANDING) this.#codes.delete(this.#codes.keys().next().value!);
    const code = randomBytes(24).toString('base64url');
    this.#codes.set(code, this.#now() + SIGN_IN_CODE_TTL_MS);
    return { code, expiresInMs: SIGN_IN_CODE_TTL_MS };
  }

  /** True once for a code that was minted and has not expired; the code is gone afterwards either way. */
  redeem(given: string): boolean {
    this.#dropExpired();
    for (const code of this.#codes.keys()) {
      if (sameToken(given, code)) {
        this.#codes.delete(code);
        return true;
      }
    }
    return false;
  }

  #dropExpired(): void {
    const now = this.#now();
    for (const [code, expiresAt] of this.#codes) if (expiresAt <= now) this.#codes.delete(code);
  }
}
