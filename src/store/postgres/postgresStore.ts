/**
 * The fleet store: one PostgreSQL database shared by the daemons of many machines (nodes), written
 * through a small node-postgres pool.
 *
 * Each store is opened for one node and is node-scoped: every method reads and writes only that node's
 * rows, so to its daemon it behaves exactly like a private SQLite store. The one shared thing is the
 * pool of requests that may run on any node (`placement: 'any'`): this store puts them there, held by
 * its node, and lists those its node holds; the fleet code (`./fleet/`) hands them between nodes.
 *
 * Durability: a resolved `apply` has been committed (with the server's default `synchronous_commit`,
 * flushed to its WAL). Every `apply` is one round trip: the statements of its batches (one per part,
 * whatever its number of rows) sent as one multi-statement query, which PostgreSQL runs as one
 * transaction (`sql/script.ts`).
 */
import type pg from 'pg';
import type { NotificationRecord } from '../../engine/notifications.js';
import type { ChildSubmission } from '../../engine/chains.js';
import type { PushRecord } from '../../engine/push.js';
import type { AppRecord, HistoryEvent, TaskRequest, TaskRun } from '../../engine/types.js';
import { StoreError } from '../errors.js';
import {
  batchList,
  validateBatch,
  validateChildSubmissionQuery,
  validateEventFilter,
  validateNotificationFilter,
  validatePushFilter,
  validateRunFilter,
} from '../schemas.js';
import type {
  ApplyOptions,
  EventFilter,
  HistorySize,
  NotificationFilter,
  PrunePolicy,
  PruneResult,
  PushFilter,
  PushStateCount,
  RecoveryResult,
  RunFilter,
  Store,
  StoreBatch,
} from '../store.js';
import type { FleetStore } from '../fleet.js';
import { toStoreError } from './errors.js';
import { PostgresFleet } from './fleet/postgresFleet.js';
import { LATEST_SCHEMA_VERSION } from './migrations/index.js';
import { compilePostgresStoreOptions } from './options.js';
import { describeValue } from '../optionChecks.js';
import type { CompiledPostgresStoreOptions, PostgresStoreOptions } from './options.js';
import { clientConfig, createPool } from './pool.js';
import { batchHasWrites } from './sql/applyBatch.js';
import { batchScript } from './sql/script.js';
import { mergeBatches } from '../mergeBatches.js';
import { getApp, listApps } from './sql/apps.js';
import { createPgContext } from './sql/context.js';
import type { PgContext } from './sql/context.js';
import { integrityCheck } from './sql/integrityCheck.js';
import { historySize, pruneHistory } from './sql/pruneHistory.js';
import { listEvents } from './sql/listEvents.js';
import { listRequests } from './sql/listRequests.js';
import { getRun, listRuns } from './sql/listRuns.js';
import { assertNotNewer, migrateLocked, schemaVersion } from './sql/migrate.js';
import { getNotification, listNotifications } from './sql/notifications.js';
import { listChildSubmissions } from './sql/childSubmissions.js';
import { countPushes, lastPushSeq, listPushes } from './sql/pushes.js';
import { recoverInterruptedRuns } from './sql/recoverInterruptedRuns.js';
import { getSetting } from './sql/settings.js';

export { defaultPostgresStoreOptions } from './options.js';
export type { PostgresStoreOptions } from './options.js';

/**
 * A {@link Store} in a PostgreSQL database, scoped to one node of a fleet.
 *
 * @example
 * ```ts
 * await using store = new PostgresStore({ url: 'postgres://bgtasks@db/fleet?schema=bgtasks', nodeId: 'build-7' });
 * await store.migrate();
 * await store.apply({ putRequests: [request] });
 * ```
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** The URL without its password. */
  readonly location: string;
  /** The node whose rows this store reads and writes. */
  readonly nodeId: string;
  /** This node's part in the fleet: membership, claims on the shared pool, maintenance (see `./fleet/`). */
  readonly fleet: FleetStore;
  readonly #options: CompiledPostgresStoreOptions;
  readonly #pool: pg.Pool;
  readonly #reads: PgContext;
  #closed = false;

  /**
   * Creates the pool; nothing connects until the first use. Call {@link migrate} before use.
   *
   * @throws TypeError - an option is invalid; the message names it (`url`, `schema`, `nodeId`, `poolSize`).
   */
  constructor(options: PostgresStoreOptions) {
    this.#options = compilePostgresStoreOptions(options);
    this.location = this.#options.location;
    this.nodeId = this.#options.nodeId;
    this.#pool = createPool(this.#options);
    this.#reads = createPgContext(this.#pool, this.nodeId);
    this.fleet = new PostgresFleet({
      nodeId: this.nodeId,
      read: (operation) => this.#read('fleet', operation),
      transaction: (operation) => this.#transaction('fleet', operation),
      clientConfig: clientConfig(this.#options),
    });
  }

  /**
   * Creates the schema if needed and applies the missing migrations, all in one transaction under an
   * advisory lock, so daemons starting together take turns. A store already at the latest version is
   * only read. Idempotent.
   *
   * @throws StoreError - `storeNewer` when the schema was written by a newer bgtasks.
   */
  async migrate(): Promise<void> {
    const version = await this.#read('migrate', schemaVersion);
    assertNotNewer(version, LATEST_SCHEMA_VERSION);
    if (version === LATEST_SCHEMA_VERSION) return;
    await this.#transaction('migrate', (ctx) => migrateLocked(ctx, this.#options.schema, Date.now()));
  }

  async schemaVersion(): Promise<number> {
    return this.#read('schemaVersion', schemaVersion);
  }

  /**
   * Validates every batch, then writes them in order in one transaction, sent in one round trip: all or nothing.
   *
   * @throws StoreError - `storeInvalid` (with `field`) for a record that fails validation or a
   *   constraint (a duplicate `taskId`, `requestId`, push `seq`); `storeBusy`, `storeFull`,
   *   `storeReadOnly`, `storeFailed` as {@link toStoreError} maps the server's errors.
   */
  async apply(batch: StoreBatch | readonly StoreBatch[], options: ApplyOptions = {}): Promise<void> {
    this.#assertOpen('apply');
    if (!options.trusted) validateBatch(batch);
    // Folded first (same result, fewer statements): the script has a statement per part, not per batch.
    const batches = mergeBatches(batchList(batch).filter(batchHasWrites));
    if (batches.length === 0) return;
    const script = await batchScript(this.nodeId, batches);
    try {
      // One simple-protocol query: its statements commit together or not at all.
      await this.#pool.query(script);
    } catch (error) {
      throw toStoreError(error, `apply on ${this.location}`);
    }
  }

  async getApp(appId: string): Promise<AppRecord | undefined> {
    return this.#read('getApp', (ctx) => getApp(ctx, appId));
  }

  async listApps(): Promise<AppRecord[]> {
    return this.#read('listApps', listApps);
  }

  /** This node's device requests and the pool requests it holds, oldest submission first. */
  async listRequests(appId?: string): Promise<TaskRequest[]> {
    return this.#read('listRequests', (ctx) => listRequests(ctx, appId));
  }

  async listRuns(filter: RunFilter = {}): Promise<TaskRun[]> {
    this.#assertOpen('listRuns');
    validateRunFilter(filter);
    return this.#read('listRuns', (ctx) => listRuns(ctx, filter));
  }

  async getRun(taskId: string): Promise<TaskRun | undefined> {
    return this.#read('getRun', (ctx) => getRun(ctx, taskId));
  }

  async listEvents(filter: EventFilter = {}): Promise<HistoryEvent[]> {
    this.#assertOpen('listEvents');
    validateEventFilter(filter);
    return this.#read('listEvents', (ctx) => listEvents(ctx, filter));
  }

  async getSetting<T = unknown>(key: string): Promise<T | undefined> {
    return this.#read('getSetting', (ctx) => getSetting<T>(ctx, key));
  }

  async listPushes(filter: PushFilter = {}): Promise<PushRecord[]> {
    this.#assertOpen('listPushes');
    validatePushFilter(filter);
    return this.#read('listPushes', (ctx) => listPushes(ctx, filter));
  }

  async countPushes(appId?: string): Promise<PushStateCount[]> {
    return this.#read('countPushes', (ctx) => countPushes(ctx, appId));
  }

  async lastPushSeq(): Promise<number> {
    return this.#read('lastPushSeq', lastPushSeq);
  }

  async listNotifications(filter: NotificationFilter = {}): Promise<NotificationRecord[]> {
    this.#assertOpen('listNotifications');
    validateNotificationFilter(filter);
    return this.#read('listNotifications', (ctx) => listNotifications(ctx, filter));
  }

  async getNotification(notificationId: string): Promise<NotificationRecord | undefined> {
    return this.#read('getNotification', (ctx) => getNotification(ctx, notificationId));
  }

  async listChildSubmissions(appId: string, parentRequestIds: readonly string[]): Promise<ChildSubmission[]> {
    this.#assertOpen('listChildSubmissions');
    validateChildSubmissionQuery(appId, parentRequestIds);
    return this.#read('listChildSubmissions', (ctx) => listChildSubmissions(ctx, appId, parentRequestIds));
  }

  /**
   * In one transaction: releases the pool requests this node held (its daemon restarted with nothing
   * in memory), then finishes this node's active runs as `interrupted` and requeues their requests, an
   * `'any'` run's into the pool, held by no node.
   *
   * @throws StoreError - `storeInvalid` (field `at`) when `at` is not ms since the epoch.
   */
  async recoverInterruptedRuns(at: number): Promise<RecoveryResult> {
    this.#assertOpen('recoverInterruptedRuns');
    if (!Number.isSafeInteger(at) || at < 0) {
      throw new StoreError(
        'storeInvalid',
        `recoverInterruptedRuns: expected \`at\` to be ms since the epoch, got ` + `${describeValue(at)}`,
        {
          field: 'at',
        },
      );
    }
    return this.#transaction('recoverInterruptedRuns', (ctx) => recoverInterruptedRuns(ctx, at));
  }

  /** One short transaction of its own, never a task write's; see `sql/pruneHistory.ts`. */
  async pruneHistory(policy: PrunePolicy): Promise<PruneResult> {
    return this.#transaction('pruneHistory', (ctx) => pruneHistory(ctx, policy));
  }

  async historySize(): Promise<HistorySize> {
    return this.#read('historySize', historySize);
  }

  /** Checks the catalog (version, tables, indexes, constraints); see `sql/integrityCheck.ts`. */
  async integrityCheck(): Promise<string> {
    return this.#read('integrityCheck', integrityCheck);
  }

  /**
   * Runs one statement on the store's pool.
   * @internal
   * @throws StoreError - mapped by {@link toStoreError}; `storeClosed` after close.
   */
  async query<Row extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    params: readonly unknown[] = [],
  ): Promise<pg.QueryResult<Row>> {
    this.#assertOpen('query');
    try {
      return await this.#pool.query<Row>(text, params as unknown[]);
    } catch (error) {
      throw toStoreError(error, `query on ${this.location}`);
    }
  }

  /** Closes every connection, after the ones in use are given back. Later calls do nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#pool.end();
    } catch (error) {
      throw toStoreError(error, `close ${this.location}`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(action: string): void {
    if (this.#closed) throw new StoreError('storeClosed', `${action}: the store ${this.location} is closed`);
  }

  async #read<T>(action: string, operation: (ctx: PgContext) => Promise<T>): Promise<T> {
    this.#assertOpen(action);
    try {
      return await operation(this.#reads);
    } catch (error) {
      throw toStoreError(error, `${action} on ${this.location}`);
    }
  }

  async #transaction<T>(action: string, operation: (ctx: PgContext, client: pg.PoolClient) => Promise<T>): Promise<T> {
    this.#assertOpen(action);
    return this.#withClient(action, (client) => operation(createPgContext(client, this.nodeId), client));
  }

  async #withClient<T>(action: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const where = `${action} on ${this.location}`;
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw toStoreError(error, where);
    }
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (error) {
      // A connection that cannot even roll back is broken: the pool must not hand it out again.
      const rolledBack = await client.query('ROLLBACK').then(
        () => true,
        () => false,
      );
      client.release(rolledBack ? undefined : true);
      throw toStoreError(error, where);
    }
  }
}
