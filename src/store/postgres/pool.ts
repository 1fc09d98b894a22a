/**
 * How the store connects: every connection (the pool's, and the fleet's LISTEN connection) uses the
 * same settings, built here from the compiled options.
 * @internal
 */
import pg from 'pg';
import type { CompiledPostgresStoreOptions } from './options.js';

const INT8_OID = 20;

/**
 * BIGINT holds milliseconds and seqs, all safe integers: read them as numbers, on this store's
 * connections only (the global parsers, which other code may rely on, stay as they are).
 */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID && format !== 'binary'
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Not an option: how long to wait for a connection before failing with `storeFailed`. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The settings of one connection: the URL, the schema as search_path, int8 as numbers. */
export function clientConfig(options: CompiledPostgresStoreOptions): pg.ClientConfig {
  return {
    connectionString: options.connectionString,
    options: options.connectionOptions,
    types: TYPES,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: `bgtasks ${options.nodeId}`,
  };
}

/** The store's pool; nothing connects before the first query. */
export function createPool(options: CompiledPostgresStoreOptions): pg.Pool {
  const pool = new pg.Pool({ ...clientConfig(options), max: options.poolSize });
  // An idle connection that breaks (a server restart) is dropped by the pool; the next use opens a
  // new one or fails with storeFailed. Without a listener the error would crash the process.
  pool.on('error', () => {});
  return pool;
}
