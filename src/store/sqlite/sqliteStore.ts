// Over 400 lines: the Store interface over SQLite, one method each; the SQL is in sql/.
/**
 * The embedded store: one SQLite file in WAL mode, written through better-sqlite3.
 *
 * better-sqlite3 is synchronous. A store method therefore runs to completion within one turn of the
 * event loop, which is what makes every `apply` atomic towards the rest of the daemon as well as on
 * disk; the methods are `async` only to share the {@link Store} interface with the PostgreSQL store.
 *
 * Durability: with `synchronous: 'full'` (the default) a resolved `apply` has been fsynced to the WAL,
 * so it survives a crash of the process or of the machine. `'normal'` survives a process crash but may
 * lose the last transactions on power loss, in exchange for far fewer fsyncs.
 */
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
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
import { enableIncrementalVacuum, historyCounts, pruneHistory, reclaimSpace } from './sql/pruneHistory.js';
import { toStoreError } from './errors.js';
import { assertKnownOptions, describeValue } from '../optionChecks.js';
import { applyBatch, batchHasWrites } from './sql/applyBatch.js';
import { getApp, listApps } from './sql/apps.js';
import { createSqlContext } from './sql/context.js';
import type { SqlContext } from './sql/context.js';
import { integrityCheck } from './sql/integrityCheck.js';
import { listEvents } from './sql/listEvents.js';
import { listRequests } from './sql/listRequests.js';
import { getRun, listRuns } from './sql/listRuns.js';
import { migrate, schemaVersion } from './sql/migrate.js';
import { recoverInterruptedRuns } from './sql/recoverInterruptedRuns.js';
import { getSetting } from './sql/settings.js';
import { getNotification, listNotifications } from './sql/notifications.js';
import { listChildSubmissions } from './sql/childSubmissions.js';
import { countPushes, lastPushSeq, listPushes } from './sql/pushes.js';
import type { NotificationRecord } from '../../engine/notifications.js';
import type { ChildSubmission } from '../../engine/chains.js';
import type { PushRecord } from '../../engine/push.js';

/** Where the store keeps its data, and how hard it tries to keep it. */
export interface SqliteStoreOptions {
  /**
   * Path of the database file (created with mode 0600 if missing), or `':memory:'` for a private in-memory database.
   */
  readonly file: string;
  /**
   * `'full'` fsyncs every commit: a resolved `apply` survives power loss. `'normal'` fsyncs only at WAL
   * checkpoints: it survives a crash of the process, not of the machine.
   * @defaultValue `'full'`
   */
  readonly synchronous?: 'full' | 'normal';
  /**
   * How long, in milliseconds, to wait for another connection's lock before failing with `storeBusy`.
   * @defaultValue `5000`
   */
  readonly busyTimeoutMs?: number;
  /**
   * Open without write access (for inspection tools): every write fails with `storeReadOnly`, and the
   * file must already exist.
   * @defaultValue `false`
   */
  readonly readonly?: boolean;
}

/** Options with every default filled in. @internal */
export type CompiledSqliteStoreOptions = Required<SqliteStoreOptions>;

/** Every default of {@link SqliteStoreOptions}, in one place. */
export function defaultSqliteStoreOptions(): Required<Omit<SqliteStoreOptions, 'file'>> {
  return { synchronous: 'full', busyTimeoutMs: 5000, readonly: false };
}

/** Not an option: the daemon's readers (CLI, dashboard) must never block its writes. */
const JOURNAL_MODE = 'wal';
const FILE_MODE = 0o600;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const OPTION_NAMES = ['file', 'synchronous', 'busyTimeoutMs', 'readonly'] as const;

/**
 * Checks options and fills in defaults, throwing a `TypeError` that names the bad option.
 * @internal
 */
export function compileSqliteStoreOptions(options: SqliteStoreOptions): CompiledSqliteStoreOptions {
  assertKnownOptions('SqliteStore', options, OPTION_NAMES);
  const compiled = { ...defaultSqliteStoreOptions(), ...withoutUndefined(options) } as CompiledSqliteStoreOptions;
  const { file, synchronous, busyTimeoutMs, readonly } = compiled;
  if (typeof file !== 'string' || file === '' || file.includes('\0')) {
    throw new TypeError(`Expected \`file\` to be a non-empty path or ':memory:', got ${describeValue(file)}`);
  }
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw new TypeError(`Expected \`synchronous\` to be 'full' or 'normal', got ${describeValue(synchronous)}`);
  }
  if (
    typeof busyTimeoutMs !== 'number' ||
    !Number.isInteger(busyTimeoutMs) ||
    busyTimeoutMs < 0 ||
    busyTimeoutMs > MAX_TIMEOUT_MS
  ) {
    throw new TypeError(
      `Expected \`busyTimeoutMs\` to be an integer from 0 to ${MAX_TIMEOUT_MS}, got ${describeValue(busyTimeoutMs)}`,
    );
  }
  if (typeof readonly !== 'boolean') {
    throw new TypeError(`Expected \`readonly\` to be a boolean, got ${describeValue(readonly)}`);
  }
  if (readonly && file === ':memory:') {
    throw new TypeError(
      "Expected `readonly` to be false with `file` ':memory:': a new in-memory " + 'database has nothing to read',
    );
  }
  return compiled;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Creates the file with mode 0600 before SQLite does (SQLite would apply the umask, typically giving
 * 0644), and narrows an existing one. SQLite creates `-wal` and `-shm` with the database file's mode;
 * existing ones are narrowed too, in case an older version left them wider.
 */
function prepareFile(path: string): void {
  closeSync(openSync(path, 'a', FILE_MODE));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file) || (statSync(file).mode & 0o777) === FILE_MODE) continue;
    try {
      chmodSync(file, FILE_MODE);
    } catch (error) {
      throw new StoreError('storeFailed', `cannot restrict ${file} to mode 0600: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
}

/** The pragmas in effect on the connection, for logs and `bgtasks doctor`. */
export interface SqlitePragmas {
  readonly journalMode: string;
  readonly synchronous: 'off' | 'normal' | 'full' | 'extra';
  readonly busyTimeoutMs: number;
}

const SYNCHRONOUS_NAMES = ['off', 'normal', 'full', 'extra'] as const;

/**
 * A {@link Store} in one SQLite file.
 *
 * @example
 * ```ts
 * await using store = SqliteStore.open({ file: homePaths(home).storeFile });
 * await store.migrate();
 * await store.apply({ putRequests: [request] });
 * ```
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  readonly #options: CompiledSqliteStoreOptions;
  #db: Database.Database | undefined;
  readonly #ctx: SqlContext;
  // Built once: better-sqlite3 creates wrapper functions for every transaction() call.
  readonly #applyTransaction: Database.Transaction<(batches: readonly StoreBatch[]) => void>;

  private constructor(location: string, db: Database.Database, options: CompiledSqliteStoreOptions) {
    this.location = location;
    this.#options = options;
    this.#db = db;
    this.#ctx = createSqlContext(db);
    this.#applyTransaction = db.transaction((batches: readonly StoreBatch[]) => {
      for (const batch of batches) applyBatch(this.#ctx, batch);
    });
  }

  /**
   * Opens (creating if needed) the store file and sets its pragmas. Call {@link migrate} before use.
   *
   * @throws TypeError - an option is invalid; the message names it.
   * @throws StoreError - `storeCorrupt` when the file is not a SQLite database, `storeReadOnly` or
   *   `storeFailed` when it cannot be created or opened.
   */
  static open(options: SqliteStoreOptions): SqliteStore {
    const compiled = compileSqliteStoreOptions(options);
    const memory = compiled.file === ':memory:';
    const location = memory ? compiled.file : resolve(compiled.file);
    let db: Database.Database | undefined;
    try {
      if (!memory && !compiled.readonly) prepareFile(location);
      db = new Database(location, {
        readonly: compiled.readonly,
        fileMustExist: !memory,
        timeout: compiled.busyTimeoutMs,
      });
      // Reads the header now, so a file that is not a database fails here rather than at first use.
      db.pragma('schema_version');
      // journal_mode is stored in the file: a read-only connection can neither set nor needs to.
      if (!compiled.readonly) db.pragma(`journal_mode = ${JOURNAL_MODE}`);
      db.pragma(`synchronous = ${compiled.synchronous.toUpperCase()}`);
      return new SqliteStore(location, db, compiled);
    } catch (error) {
      db?.close();
      throw toStoreError(error, `open ${location}`);
    }
  }

  /** Applies the missing migrations, each in its own transaction. Idempotent. */
  async migrate(): Promise<void> {
    this.#run('migrate', (ctx) => migrate(ctx, Date.now()));
    // Outside any transaction (VACUUM cannot run in one); a no-op once set.
    if (this.location !== ':memory:') this.#run('migrate', enableIncrementalVacuum);
  }

  /** One short IMMEDIATE transaction of its own (never a task write's), then an incremental vacuum. */
  async pruneHistory(policy: PrunePolicy): Promise<PruneResult> {
    this.#assertWritable('pruneHistory');
    const result = this.#run('pruneHistory', (ctx) => ctx.db.transaction(() => pruneHistory(ctx, policy)).immediate());
    if (result.runs + result.events > 0) this.#run('pruneHistory', reclaimSpace);
    return result;
  }

  async historySize(): Promise<HistorySize> {
    const counts = this.#run('historySize', historyCounts);
    if (this.location === ':memory:') return { ...counts, bytes: null };
    const bytes = [this.location, `${this.location}-wal`].reduce(
      (sum, file) => sum + (existsSync(file) ? statSync(file).size : 0),
      0,
    );
    return { ...counts, bytes };
  }

  async schemaVersion(): Promise<number> {
    return this.#run('schemaVersion', schemaVersion);
  }

  /**
   * Validates every batch, then writes them in order in one IMMEDIATE transaction: all or nothing, and
   * one fsync however many batches the daemon grouped.
   */
  async apply(batch: StoreBatch | readonly StoreBatch[], options: ApplyOptions = {}): Promise<void> {
    this.#context('apply');
    if (!options.trusted) validateBatch(batch);
    this.#assertWritable('apply');
    const batches = batchList(batch).filter(batchHasWrites);
    if (batches.length === 0) return;
    this.#run('apply', () => this.#applyTransaction.immediate(batches));
  }

  async getApp(appId: string): Promise<AppRecord | undefined> {
    return this.#run('getApp', (ctx) => getApp(ctx, appId));
  }

  async listApps(): Promise<AppRecord[]> {
    return this.#run('listApps', listApps);
  }

  async listRequests(appId?: string): Promise<TaskRequest[]> {
    return this.#run('listRequests', (ctx) => listRequests(ctx, appId));
  }

  async listRuns(filter: RunFilter = {}): Promise<TaskRun[]> {
    this.#context('listRuns');
    validateRunFilter(filter);
    return this.#run('listRuns', (ctx) => listRuns(ctx, filter));
  }

  async getRun(taskId: string): Promise<TaskRun | undefined> {
    return this.#run('getRun', (ctx) => getRun(ctx, taskId));
  }

  async listEvents(filter: EventFilter = {}): Promise<HistoryEvent[]> {
    this.#context('listEvents');
    validateEventFilter(filter);
    return this.#run('listEvents', (ctx) => listEvents(ctx, filter));
  }

  async getSetting<T = unknown>(key: string): Promise<T | undefined> {
    return this.#run('getSetting', (ctx) => getSetting<T>(ctx, key));
  }

  async listPushes(filter: PushFilter = {}): Promise<PushRecord[]> {
    this.#context('listPushes');
    validatePushFilter(filter);
    return this.#run('listPushes', (ctx) => listPushes(ctx, filter));
  }

  async countPushes(appId?: string): Promise<PushStateCount[]> {
    return this.#run('countPushes', (ctx) => countPushes(ctx, appId));
  }

  async lastPushSeq(): Promise<number> {
    return this.#run('lastPushSeq', lastPushSeq);
  }

  async listNotifications(filter: NotificationFilter = {}): Promise<NotificationRecord[]> {
    this.#context('listNotifications');
    validateNotificationFilter(filter);
    return this.#run('listNotifications', (ctx) => listNotifications(ctx, filter));
  }

  async getNotification(notificationId: string): Promise<NotificationRecord | undefined> {
    return this.#run('getNotification', (ctx) => getNotification(ctx, notificationId));
  }

  async listChildSubmissions(appId: string, parentRequestIds: readonly string[]): Promise<ChildSubmission[]> {
    this.#context('listChildSubmissions');
    validateChildSubmissionQuery(appId, parentRequestIds);
    return this.#run('listChildSubmissions', (ctx) => listChildSubmissions(ctx, appId, parentRequestIds));
  }

  async recoverInterruptedRuns(at: number): Promise<RecoveryResult> {
    this.#context('recoverInterruptedRuns');
    if (!Number.isSafeInteger(at) || at < 0) {
      throw new StoreError(
        'storeInvalid',
        `recoverInterruptedRuns: expected \`at\` to be ms since the epoch, got ` + `${describeValue(at)}`,
        {
          field: 'at',
        },
      );
    }
    this.#assertWritable('recoverInterruptedRuns');
    return this.#run('recoverInterruptedRuns', (ctx) =>
      ctx.db.transaction(() => recoverInterruptedRuns(ctx, at)).immediate(),
    );
  }

  /** `PRAGMA integrity_check`; damage that stops the check itself is reported as its description too. */
  async integrityCheck(): Promise<string> {
    try {
      return this.#run('integrityCheck', integrityCheck);
    } catch (error) {
      if (error instanceof StoreError && error.code === 'storeCorrupt') return error.message;
      throw error;
    }
  }

  /** The journal mode, synchronous level and busy timeout in effect. */
  pragmas(): SqlitePragmas {
    return this.#run('pragmas', ({ db }) => ({
      journalMode: String(db.pragma('journal_mode', { simple: true })),
      synchronous: SYNCHRONOUS_NAMES[Number(db.pragma('synchronous', { simple: true }))] ?? 'full',
      busyTimeoutMs: Number(db.pragma('busy_timeout', { simple: true })),
    }));
  }

  /** Closes the connection; SQLite checkpoints the WAL into the file. Later calls do nothing. */
  async close(): Promise<void> {
    const db = this.#db;
    if (db === undefined) return;
    this.#db = undefined;
    try {
      db.close();
    } catch (error) {
      throw toStoreError(error, `close ${this.location}`);
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #context(action: string): SqlContext {
    if (this.#db === undefined) throw new StoreError('storeClosed', `${action}: the store ${this.location} is closed`);
    return this.#ctx;
  }

  #assertWritable(action: string): void {
    if (this.#options.readonly) {
      throw new StoreError('storeReadOnly', `${action}: the store ${this.location} was opened read-only`);
    }
  }

  #run<T>(action: string, operation: (ctx: SqlContext) => T): T {
    const ctx = this.#context(action);
    try {
      return operation(ctx);
    } catch (error) {
      throw toStoreError(error, `${action} on ${this.location}`);
    }
  }
}
