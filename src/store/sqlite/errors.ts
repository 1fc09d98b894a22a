/**
 * Classifies what better-sqlite3 (and `node:fs`, while the store file is being created) throws into
 * {@link StoreError} codes, so callers branch on `code` and never on driver messages. The original error
 * is always kept as `cause`.
 *
 * SQLite extended result codes (`SQLITE_BUSY_SNAPSHOT`, `SQLITE_READONLY_DBMOVED`, ...) are matched by
 * their primary code, the part before the second underscore.
 */
import { StoreError } from '../errors.js';
import type { StoreErrorCode } from '../errors.js';

/** SQLite primary result codes, and the store error each means. */
const SQLITE_CODES: Readonly<Record<string, StoreErrorCode>> = {
  // ENOSPC while writing, or max_page_count reached.
  SQLITE_FULL: 'storeFull',
  SQLITE_READONLY: 'storeReadOnly',
  // The OS refused access (file mode, a read-only mount).
  SQLITE_PERM: 'storeReadOnly',
  // Another connection holds the lock beyond busy_timeout; retrying later can succeed.
  SQLITE_BUSY: 'storeBusy',
  SQLITE_LOCKED: 'storeBusy',
  SQLITE_CORRUPT: 'storeCorrupt',
  SQLITE_NOTADB: 'storeCorrupt',
  // A UNIQUE or NOT NULL rule: the written value was wrong, not the database.
  SQLITE_CONSTRAINT: 'storeInvalid',
  SQLITE_TOOBIG: 'storeInvalid',
  SQLITE_MISMATCH: 'storeInvalid',
  SQLITE_CANTOPEN: 'storeFailed',
};

/** Errors from creating or chmod-ing the store file before SQLite opens it. */
const FS_CODES: Readonly<Record<string, StoreErrorCode>> = {
  ENOSPC: 'storeFull',
  EDQUOT: 'storeFull',
  EROFS: 'storeReadOnly',
  EACCES: 'storeReadOnly',
  EPERM: 'storeReadOnly',
};

/** The primary SQLite result code of an error, e.g. `SQLITE_BUSY` for `SQLITE_BUSY_SNAPSHOT`. */
export function primarySqliteCode(code: string): string {
  const second = code.indexOf('_', 'SQLITE_'.length);
  return second === -1 ? code : code.slice(0, second);
}

/** Turns `UNIQUE constraint failed: runs.task_id` into `taskId`, the record field at fault. */
function constraintField(message: string): string | undefined {
  const match = /constraint failed: \w+\.(\w+)/.exec(message);
  if (!match) return undefined;
  return match[1]!.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * Maps any error thrown while `action` ran (e.g. `apply`, `open /path/store.sqlite`) to a
 * {@link StoreError}. A StoreError passes through unchanged.
 */
export function toStoreError(error: unknown, action: string): StoreError {
  if (error instanceof StoreError) return error;
  const code = typeof (error as { code?: unknown } | null)?.code === 'string' ? (error as { code: string }).code : '';
  const message = error instanceof Error ? error.message : String(error);
  if (code.startsWith('SQLITE_')) {
    const storeCode = SQLITE_CODES[primarySqliteCode(code)] ?? 'storeFailed';
    const field = storeCode === 'storeInvalid' ? constraintField(message) : undefined;
    return new StoreError(storeCode, `${action}: ${message} (${code})${hint(message)}`, { cause: error, field });
  }
  const fsCode = FS_CODES[code];
  if (fsCode) return new StoreError(fsCode, `${action}: ${message}`, { cause: error });
  return new StoreError('storeFailed', `${action}: ${message}${hint(message)}`, { cause: error });
}

// A missing table almost always means the caller skipped `migrate()`; say so instead of leaving them to guess.
function hint(message: string): string {
  return message.startsWith('no such table') ? '; has migrate() been called on this store?' : '';
}
