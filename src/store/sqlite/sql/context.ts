import type Database from 'better-sqlite3';

/**
 * What every `sql/*.ts` operation receives: the connection and a statement cache owned by one store.
 * @internal
 */
export interface SqlContext {
  readonly db: Database.Database;
  /**
   * The prepared statement for `sql`, prepared on first use and reused for the life of the store:
   * preparing costs about as much as running a small insert, and the hot paths run once per row.
   */
  statement<Row = unknown>(sql: string): Database.Statement<unknown[], Row>;
}

/** @internal */
export function createSqlContext(db: Database.Database): SqlContext {
  const cache = new Map<string, Database.Statement<unknown[], unknown>>();
  return {
    db,
    statement<Row>(sql: string) {
      let statement = cache.get(sql);
      if (statement === undefined) {
        statement = db.prepare<unknown[], unknown>(sql);
        cache.set(sql, statement);
      }
      return statement as Database.Statement<unknown[], Row>;
    },
  };
}
