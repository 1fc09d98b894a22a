/**
 * The durable state of bgtasks: one {@link Store} interface, opened from a location string.
 *
 * @example
 * ```ts
 * import { openStore } from '../store/index.js';
 *
 * await using store = openStore(homePaths(home).storeFile);
 * await store.migrate();
 * const { interrupted } = await store.recoverInterruptedRuns(clock.now());
 * ```
 */
import { StoreError } from './errors.js';
import { SqliteStore } from './sqlite/sqliteStore.js';
import type { SqliteStoreOptions } from './sqlite/sqliteStore.js';
import type { Store } from './store.js';

export type { EventFilter, RecoveryResult, RequestRef, RunFilter, Store, StoreBatch } from './store.js';
export { StoreError } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { SqliteStore, defaultSqliteStoreOptions } from './sqlite/sqliteStore.js';
export type { SqlitePragmas, SqliteStoreOptions } from './sqlite/sqliteStore.js';
export { DEFAULT_LIST_LIMIT, validateBatch, validateEventFilter, validateRunFilter } from './schemas.js';

/** Options for {@link openStore}; they apply to a SQLite location. */
export type OpenStoreOptions = Omit<SqliteStoreOptions, 'file'>;

const POSTGRES_LOCATION = /^postgres(?:ql)?:\/\//i;

/**
 * Opens the store at `location`: a SQLite file path, or `':memory:'` for a private in-memory store.
 * The store is not migrated yet: call `await store.migrate()` next.
 *
 * @throws TypeError - an option is invalid.
 * @throws StoreError - `storeFailed` for a `postgres://` location (not available in this version), or
 *   whatever {@link SqliteStore.open} throws.
 */
export function openStore(location: string, options: OpenStoreOptions = {}): Store {
  if (typeof location !== 'string') {
    throw new TypeError(`Expected the store location to be a path or ':memory:', got ${String(location)} (${typeof location})`);
  }
  if (POSTGRES_LOCATION.test(location)) {
    throw new StoreError('storeFailed', 'the PostgreSQL store is not available in this version: use a SQLite file path');
  }
  return SqliteStore.open({ ...options, file: location });
}
