import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import type { StoreWriter } from './storeWriter.js';
import { readUntrustedFile, MAX_TOKEN_FILE_BYTES } from '../shared/untrustedFile.js';

/** The setting with each app's push token digest: `{ appId: sha256hex }`. */
export const PUSH_TOKENS_SETTING = 'push.tokens';

/**
 * Apps' push tokens: the Bearer credential a sender presents to `POST /v1/apps/{appId}/push`. Each is
 * 32 random bytes, kept for the person in `<home>/push-tokens/<appId>` (0600, like the apps'
 * credentials) and in the store only as a SHA-256 digest, compared in constant time, never logged.
 * Issued at install; `bgtasks apps token APP --rotate` replaces it (the old one stops working at once).
 */
export class PushTokens {
  readonly #home: string;
  readonly #writer: StoreWriter;
  #digests: Record<string, string> = {};

  private constructor(home: string, writer: StoreWriter) {
    this.#home = home;
    this.#writer = writer;
  }

  static async load(home: string, store: Store, writer: StoreWriter): Promise<PushTokens> {
    const tokens = new PushTokens(home, writer);
    tokens.#digests = { ...((await store.getSetting<Record<string, string>>(PUSH_TOKENS_SETTING)) ?? {}) };
    return tokens;
  }

  /** The app's token: the one issued (when its file and digest agree), or a new one when none is or `rotate`. */
  async issue(appId: string, rotate = false): Promise<{ token: string; rotated: boolean }> {
    const file = this.#file(appId);
    if (!rotate && existsSync(file)) {
      const existing = readUntrustedFile(file, MAX_TOKEN_FILE_BYTES).trim();
      if (existing.length >= 16 && Object.hasOwn(this.#digests, appId) && this.#digests[appId] === digest(existing))
        return { token: existing, rotated: false };
    }
    const token = randomBytes(32).toString('base64url');
    const dir = join(this.#home, 'push-tokens');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const temporary = `${file}.${process.pid}.tmp`;
    writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
    const next = { ...this.#digests, [appId]: digest(token) };
    await this.#writer.write({ settings: { [PUSH_TOKENS_SETTING]: next } });
    renameSync(temporary, file);
    this.#digests = next;
    return { token, rotated: true };
  }

  /** Whether `token` is the app's current push token (false for an app without one). */
  verify(appId: string, token: string): boolean {
    // Own keys only: an app id such as `constructor` must not find Object.prototype's member.
    const expected = Object.hasOwn(this.#digests, appId) ? this.#digests[appId] : undefined;
    if (typeof expected !== 'string') return false;
    const actual = Buffer.from(digest(token), 'hex');
    const wanted = Buffer.from(expected, 'hex');
    return actual.length === wanted.length && timingSafeEqual(actual, wanted);
  }

  async forget(appId: string): Promise<void> {
    rmSync(this.#file(appId), { force: true });
    if (!(appId in this.#digests)) return;
    const next = { ...this.#digests };
    delete next[appId];
    await this.#writer.write({ settings: { [PUSH_TOKENS_SETTING]: next } });
    this.#digests = next;
  }

  #file(appId: string): string {
    return join(this.#home, 'push-tokens', appId);
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
