import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homePaths } from '../shared/paths.js';
import { readUntrustedFile, MAX_TOKEN_FILE_BYTES } from '../shared/untrustedFile.js';

/**
 * App credentials: 32 random bytes, given to the app in a 0600 file under the home, stored in the
 * store only as a SHA-256 digest, compared in constant time, never logged.
 */
export function hashCredential(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}

export function credentialMatches(credential: string, expectedHash: string): boolean {
  const actual = Buffer.from(hashCredential(credential), 'hex');
  const expected = Buffer.from(expectedHash, 'hex');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** Returns the app's credential, creating one (or a new one, when `rotate`) if needed. */
export function ensureCredential(home: string, appId: string, rotate = false): string {
  const paths = homePaths(home);
  mkdirSync(paths.credentialsDir, { recursive: true, mode: 0o700 });
  chmodSync(paths.credentialsDir, 0o700);
  const file = paths.credentialFile(appId);
  if (!rotate && existsSync(file)) {
    const existing = readUntrustedFile(file, MAX_TOKEN_FILE_BYTES).trim();
    if (existing.length >= 16) return existing;
  }
  const credential = randomBytes(32).toString('base64url');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${credential}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return credential;
}

export function removeCredential(home: string, appId: string): void {
  rmSync(homePaths(home).credentialFile(appId), { force: true });
}
