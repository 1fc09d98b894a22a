/**
 * The durable state of bgtasks: one {@link Store} interface, opened from a location string.
 *
 * @example
 * ```ts
 * import { openStore } from './index.js';
 *
 * await using store = openStore(homePaths(home).storeFile);
 * await store.migrate();
 * const { interrupted } = await store.recoverInterruptedRuns(clock.now());
 *
 * // A fleet: many machines, one PostgreSQL database; each store sees its own node's rows.
 * await using shared = openStore('postgres://bgtasks@db/fleet?schema=bgtasks', { nodeId: 'build-7' });
 * ```
 */
import { PostgresStore } from './postgres/postgresStore.js';
import { SqliteStore } from './sqlite/sqliteStore.js';
import type { SqliteStoreOptions } from './sqlite/sqliteStore.js';
import type { Store } from './store.js';
import { isPostgresLocation } from './location.js';

export type { ApplyOptions, EventFilter, RecoveryResult, RequestRef, RunFilter, Store, StoreBatch } from './store.js';
export { StoreError } from './errors.js';
export { isPostgresLocation } from './location.js';
export type { StoreErrorCode } from './errors.js';
export { SqliteStore, defaultSqliteStoreOptions } from './sqlite/sqliteStore.js';
export type { SqlitePragmas, SqliteStoreOptions } from './sqlite/sqliteStore.js';
export { PostgresStore, defaultPostgresStoreOptions } from './postgres/postgresStore.js';
export type { PostgresStoreOptions } from './postgres/postgresStore.js';
export { DEFAULT_LIST_LIMIT, validateBatch, validateEventFilter, validateRunFilter } from './schemas.js';

/**
 * Options for {@link openStore}. `nodeId` (required) and `poolSize` apply to a PostgreSQL location;
 * the others to a SQLite one, and are not accepted with a PostgreSQL location.
 */
export type OpenStoreOptions = Omit<SqliteStoreOptions, 'file'> & {
  /** This machine's id in the fleet; required for a `postgres://` location (see {@link PostgresStoreOptions}). */
  readonly nodeId?: string;
  /** The PostgreSQL store's most connections at once. */
  readonly poolSize?: number;
};

/**
 * Opens the store at `location`: a SQLite file path, `':memory:'` for a private in-memory store, or a
 * `postgres://` / `postgresql://` URL (optionally with `?schema=NAME`) for a fleet's shared database,
 * which needs `options.nodeId`. The store is not migrated yet: call `await store.migrate()` next.
 * Nothing connects to PostgreSQL before the first use.
 *
 * @throws TypeError - an option is invalid, or `nodeId` is missing for a PostgreSQL location, or set
 *   for a SQLite one; the message names the option.
 * @throws StoreError - whatever {@link SqliteStore.open} throws.
 */
export function openStore(location: string, options: OpenStoreOptions = {}): Store {
  if (typeof location !== 'string') {
    throw new TypeError(
      `Expected the store location to be a path, ':memory:' or a postgres:// URL, ` +
        `got ${String(location)} (${typeof location})`,
    );
  }
  const { nodeId, poolSize, ...sqliteOptions } = options;
  if (isPostgresLocation(location)) {
    if (nodeId === undefined) {
      throw new TypeError(
        "Expected `nodeId` (this machine's id in the fleet) with a postgres:// store " + 'location, got none',
      );
    }
    const unsupported = Object.keys(sqliteOptions).filter(
      (key) => sqliteOptions[key as keyof typeof sqliteOptions] !== undefined,
    );
    if (unsupported.length > 0) {
      throw new TypeError(
        `Unknown option \`${unsupported[0]}\` for a postgres:// store location; its ` + `options are nodeId, poolSize`,
      );
    }
    return new PostgresStore({ url: location, nodeId, ...(poolSize === undefined ? {} : { poolSize }) });
  }
  for (const [key, value] of [
    ['nodeId', nodeId],
    ['poolSize', poolSize],
  ] as const) {
    if (value !== undefined)
      throw new TypeError(`Expected no \`${key}\` with a SQLite store location: it applies to a ` + `postgres:// one`);
  }
  return SqliteStore.open({ ...sqliteOptions, file: location });
}
