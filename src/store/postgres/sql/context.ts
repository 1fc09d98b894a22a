import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * What every `sql/*.ts` operation receives: this store's node and a way to run one statement, either
 * on the pool (reads) or on the client of an open transaction (writes).
 * @internal
 */
export interface PgContext {
  /** The node whose rows this store reads and writes. */
  readonly nodeId: string;
  /** Runs one statement and resolves to its rows. */
  rows<Row>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs one statement and resolves to the number of rows it touched. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
  /** Runs a script of statements without parameters (a migration), unprepared. */
  exec(sql: string): Promise<void>;
}

// The name each statement text is prepared under: each connection parses a statement once and reuses
// it for the life of the connection. Derived from the text, so two texts never share a name, and every
// store (and the fleet code) may share a connection's statements.
const names = new Map<string, string>();

function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `bgtasks_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    names.set(sql, name);
  }
  return name;
}

/** @internal */
export function createPgContext(queryable: pg.Pool | pg.PoolClient, nodeId: string): PgContext {
  const query = (sql: string, params: readonly unknown[]) =>
    queryable.query({ name: statementName(sql), text: sql, values: params as unknown[] });
  return {
    nodeId,
    async rows<Row>(sql: string, params: readonly unknown[] = []) {
      return (await query(sql, params)).rows as Row[];
    },
    async run(sql: string, params: readonly unknown[] = []) {
      return (await query(sql, params)).rowCount ?? 0;
    },
    async exec(sql: string) {
      await queryable.query(sql);
    },
  };
}
