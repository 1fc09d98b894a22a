/**
 * Classifies what node-postgres throws (a server error with a SQLSTATE `code`, or a socket error) into
 * {@link StoreError} codes, so callers branch on `code` and never on driver messages. The original
 * error is always kept as `cause`.
 *
 * | SQLSTATE / error                                  | store code      |
 * |---------------------------------------------------|-----------------|
 * | 53100 disk_full, 53200 out_of_memory              | `storeFull`     |
 * | 25006 read_only_sql_transaction, 42501 privilege  | `storeReadOnly` |
 * | 40001, 40P01, 55P03, 57014, 53300                 | `storeBusy`     |
 * | XX001 data_corrupted, XX002 index_corrupted       | `storeCorrupt`  |
 * | class 23 (constraints), class 22 (data)           | `storeInvalid`  |
 * | refused, reset or terminated connections, the rest | `storeFailed`   |
 */
import { StoreError } from '../errors.js';
import type { StoreErrorCode } from '../errors.js';

/** SQLSTATE codes, and the store error each means. */
const SQLSTATE_CODES: Readonly<Record<string, StoreErrorCode>> = {
  // The server could not extend a file, or ran out of memory: the write was rolled back.
  '53100': 'storeFull',
  '53200': 'storeFull',
  // A hot standby, `default_transaction_read_only`, or a role without write grants.
  '25006': 'storeReadOnly',
  '42501': 'storeReadOnly',
  // serialization_failure, deadlock_detected, lock_not_available, query_canceled (statement or lock
  // timeout), too_many_connections: retrying later can succeed.
  '40001': 'storeBusy',
  '40P01': 'storeBusy',
  '55P03': 'storeBusy',
  '57014': 'storeBusy',
  '53300': 'storeBusy',
  XX001: 'storeCorrupt',
  XX002: 'storeCorrupt',
};

/** SQLSTATE classes (the first two characters) for the codes not listed one by one. */
const SQLSTATE_CLASSES: Readonly<Record<string, StoreErrorCode>> = {
  // Integrity constraint violation: a UNIQUE, NOT NULL or CHECK rule; the value was wrong, not the database.
  '23': 'storeInvalid',
  // Data exception: a value the column cannot hold (out of range, a NUL character in text).
  '22': 'storeInvalid',
};

interface PgErrorFields {
  readonly code?: unknown;
  readonly detail?: unknown;
  readonly column?: unknown;
}

function camelCase(column: string): string {
  return column.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/**
 * The record field at fault: a NOT NULL violation names its column; a unique violation's detail,
 * `Key (node_id, seq)=(a, 3) already exists.`, names the key's columns, of which the last one that is
 * not `node_id` is the field (`seq`, `taskId`, `requestId`).
 */
function faultyField(error: PgErrorFields): string | undefined {
  if (typeof error.column === 'string') return camelCase(error.column);
  if (typeof error.detail !== 'string') return undefined;
  const match = /^Key \(([^)]*)\)=/.exec(error.detail);
  if (!match) return undefined;
  const columns = match[1]!
    .split(',')
    .map((column) => column.trim())
    .filter((column) => column !== 'node_id');
  const last = columns[columns.length - 1];
  return last === undefined ? undefined : camelCase(last);
}

/** The message of an error, also for a socket `AggregateError` (one attempt per address) whose own is empty. */
function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.message !== '') return error.message;
  const first = (error as { errors?: unknown[] }).errors?.[0];
  if (first instanceof Error && first.message !== '') return first.message;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : error.name;
}

// A missing table or schema almost always means the caller skipped `migrate()`; say so.
function hint(code: string): string {
  return code === '42P01' || code === '3F000' ? '; has migrate() been called on this store?' : '';
}

/**
 * Maps any error thrown while `action` ran (e.g. `apply on postgres://bgtasks@db/fleet`) to a
 * {@link StoreError}. A StoreError passes through unchanged. Callers put the store's location in
 * `action`, so a refused connection reads `listApps on postgres://…: connect ECONNREFUSED …`.
 */
export function toStoreError(error: unknown, action: string): StoreError {
  if (error instanceof StoreError) return error;
  const fields = (typeof error === 'object' && error !== null ? error : {}) as PgErrorFields;
  const code = typeof fields.code === 'string' ? fields.code : '';
  const message = messageOf(error);
  // SQLSTATEs are a two-character class (digits, or F0, HV, P0, XX) and three more; socket errors are E-words.
  if (/^(?:[0-9]{2}|F0|HV|P0|XX)[0-9A-Z]{3}$/.test(code)) {
    const storeCode = SQLSTATE_CODES[code] ?? SQLSTATE_CLASSES[code.slice(0, 2)] ?? 'storeFailed';
    const field = storeCode === 'storeInvalid' ? faultyField(fields) : undefined;
    return new StoreError(storeCode, `${action}: ${message} (SQLSTATE ${code})${hint(code)}`, { cause: error, field });
  }
  const suffix = code !== '' && !message.includes(code) ? ` (${code})` : '';
  return new StoreError('storeFailed', `${action}: ${message}${suffix}`, { cause: error });
}
