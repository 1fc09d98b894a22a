import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { homePaths } from '../../shared/paths.js';
import { readUntrustedFile, MAX_TOKEN_FILE_BYTES } from '../../shared/untrustedFile.js';

/** A token shorter than this in the file is not one we wrote (truncated, edited): a new one replaces it. */
const MIN_TOKEN_LENGTH = 32;

/**
 * `<home>/metrics-token` (0600): the Bearer token a scraper presents to `GET /metrics`. Unlike the
 * dashboard's token it survives restarts (Prometheus reads it from a file, `credentials_file`, and
 * must not lose access at every daemon start), and it opens only `/metrics`, never the dashboard's API.
 * Delete the file and restart the daemon to replace it.
 */
export function metricsTokenPath(home: string): string {
  return homePaths(home).metricsTokenFile;
}

/** The token in the file, made (32 random bytes, base64url) when there is none yet. */
export function ensureMetricsToken(home: string): string {
  const file = metricsTokenPath(home);
  if (existsSync(file)) {
    const existing = readUntrustedFile(file, MAX_TOKEN_FILE_BYTES).trim();
    if (existing.length >= MIN_TOKEN_LENGTH && /^[A-Za-z0-9_-]+$/.test(existing)) {
      chmodSync(file, 0o600);
      return existing;
    }
  }
  mkdirSync(homePaths(home).home, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  // Written whole and renamed: a scraper reading it meanwhile sees the old file or the new, never half.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${token}\n`, { mode: 0o600 });
  renameSync(temporary, file);
  return token;
}
