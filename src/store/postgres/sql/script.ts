/**
 * A batch of writes as ONE round trip: the statements an operation would run one by one are recorded
 * instead, then sent together as one multi-statement query (the simple query protocol), with their
 * parameters written in as literals. PostgreSQL runs the statements of one such query as one implicit
 * transaction: all commit together, or the first failure rolls every one back — no BEGIN or COMMIT
 * round trips, and no round trip per part.
 *
 * Why not prepared statements: node-postgres waits for each statement's answer before it sends the next
 * (no pipelining), so a transaction of k prepared statements costs k + 2 round trips; on a busy
 * database the round trips, not the planning, bound a node (docs/fleet.md, "Performance"). Every
 * operation written against {@link PgContext} works here unchanged, so a new kind of write in a
 * {@link StoreBatch} slots in without a server-side function or a migration.
 *
 * @internal
 */
import pg from 'pg';
import type { StoreBatch } from '../../store.js';
import { applyBatch } from './applyBatch.js';
import type { PgContext } from './context.js';

/** A statement with its parameters, as an operation ran it. */
interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** A context whose writes are recorded, not run; an operation that reads (needs rows back) cannot be scripted. */
function recordingContext(nodeId: string, into: Statement[]): PgContext {
  return {
    nodeId,
    rows() {
      return Promise.reject(new Error('a scripted batch cannot read: its statements run only when the script is sent'));
    },
    run(sql: string, params: readonly unknown[] = []) {
      into.push({ sql, params });
      return Promise.resolve(0);
    },
    exec(sql: string) {
      into.push({ sql, params: [] });
      return Promise.resolve();
    },
  };
}

/** One parameter as a SQL literal; an untyped quoted literal resolves from its context, as a parameter does. */
export function literal(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`a scripted parameter must be a finite number, got ${value}`);
    return `'${value}'`;
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return pg.escapeLiteral(value);
  if (Array.isArray(value)) return pg.escapeLiteral(arrayText(value));
  throw new TypeError(`a scripted parameter must be a string, number, boolean, null or array, got ${typeof value}`);
}

/** PostgreSQL's array input syntax, every element quoted: `{"a","b\"c",NULL}`. */
function arrayText(values: readonly unknown[]): string {
  const items = values.map((item) => {
    if (item === null || item === undefined) return 'NULL';
    if (Array.isArray(item)) return arrayText(item);
    return `"${String(item).replace(/[\\"]/g, (char) => `\\${char}`)}"`;
  });
  return `{${items.join(',')}}`;
}

/** The statement with each `$n` replaced by its parameter's literal. The store's statements hold no `$` otherwise. */
export function inline({ sql, params }: Statement): string {
  return sql.replace(/\$(\d+)/g, (_, position: string) => {
    const index = Number(position) - 1;
    if (index >= params.length)
      throw new RangeError(`the statement uses $${position} but has ${params.length} parameter(s)`);
    return literal(params[index]);
  });
}

/**
 * The batches' writes, in order, as one script of statements; empty when they write nothing. Each
 * part's statements are those {@link applyBatch} runs on a transaction, so both ways write the same.
 */
export async function batchScript(nodeId: string, batches: readonly StoreBatch[]): Promise<string> {
  const statements: Statement[] = [];
  const ctx = recordingContext(nodeId, statements);
  for (const batch of batches) await applyBatch(ctx, batch);
  return statements.map((statement) => `${inline(statement).trim()};`).join('\n');
}
