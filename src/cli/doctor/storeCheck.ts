// Over 400 lines: the doctor's store checks for SQLite and PostgreSQL, one group of checks.
import { existsSync, readFileSync, statSync, statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { LATEST_SCHEMA_VERSION as SQLITE_LATEST } from '../../store/sqlite/migrations/index.js';
import { createSqlContext, type SqlContext } from '../../store/sqlite/sql/context.js';
import { listApps as listSqliteApps } from '../../store/sqlite/sql/apps.js';
import { schemaVersion as sqliteSchemaVersion } from '../../store/sqlite/sql/migrate.js';
import { getSetting as getSqliteSetting } from '../../store/sqlite/sql/settings.js';
import { OVERRIDES_SETTING } from '../../daemon/commands/conditions.js';
import { LATEST_SCHEMA_VERSION as POSTGRES_LATEST } from '../../store/postgres/migrations/index.js';
import { PostgresStore } from '../../store/postgres/postgresStore.js';
import type { AppRecord } from '../../engine/types.js';
import { errorMessage, fail, ok, shellQuote, warn, withTimeout, type Check } from './checks.js';
import type { DaemonStatus, InstalledApp } from './daemonCheck.js';
import { historyLine } from '../commands/status.js';
import { isPostgresLocation } from '../../store/location.js';

/** Free space on the store's filesystem below which the doctor warns, and fails. Defaults in one place. */
export const DEFAULT_DISK_THRESHOLDS = { warnBelowBytes: 256 * 1024 * 1024, failBelowBytes: 16 * 1024 * 1024 } as const;

/**
 * A store without a daemon is read from a copy in memory, so that SQLite creates no `-wal`/`-shm` files
 * next to it; one larger than this is opened in place instead (read-only, but SQLite may leave those two
 * empty files behind).
 */
export const MAX_IN_MEMORY_COPY_BYTES = 256 * 1024 * 1024;

export interface StoreCheckOptions {
  /** A SQLite file path or a `postgres://…?schema=NAME` URL. */
  readonly location: string;
  /** Where the location came from, for the report (`--store`, `the running daemon`, `the default`). */
  readonly source: string;
  /** In a fleet: this machine's node id, when known (the daemon's status, `<home>/node-id`, `--node-id`). */
  readonly nodeId: string | null;
  /** The running daemon's status, if one answers (its store fault is reported here). */
  readonly daemon: DaemonStatus | null;
  /** Read the installed apps from the store (when no daemon told them). */
  readonly wantApps: boolean;
  readonly timeoutMs: number;
  readonly disk?: { readonly warnBelowBytes: number; readonly failBelowBytes: number };
  /** @default Date.now() */
  readonly now?: number;
}

export interface StoreCheckResult {
  readonly checks: Check[];
  /** The apps recorded in the store, when asked for and readable. */
  readonly apps?: readonly InstalledApp[];
  /** Why the apps could not be read, when asked for. */
  readonly appsError?: string;
  /** The condition overrides kept in the store (`bgtasks conditions set`), read along with the apps. */
  readonly overrides?: Readonly<Record<string, unknown>>;
}

export async function checkStore(options: StoreCheckOptions): Promise<StoreCheckResult> {
  const checks: Check[] = [];
  const fault = options.daemon?.store.fault;
  if (fault) {
    checks.push(
      fail(
        'store.writable',
        'store',
        `the daemon cannot write its store since ` +
          `${new Date(fault.since).toISOString()} (${fault.code}): submissions are ` +
          `refused and no task starts`,
        "free disk space or fix the store's permissions; the daemon retries by " + 'itself (see bgtasks status)',
      ),
    );
  } else if (options.daemon) {
    checks.push(ok('store.writable', 'store', 'the daemon writes its store without faults'));
  }
  // Pruned by the daemon (history.retentionMs, history.maxRunsPerApp): the store does not only grow.
  if (options.daemon?.history)
    checks.push(ok('store.history', 'store', `history: ${historyLine(options.daemon.history)}`));
  const result = isPostgresLocation(options.location) ? await checkPostgres(options) : checkSqlite(options);
  return { ...result, checks: [...checks, ...result.checks] };
}

function publicApp(record: AppRecord): InstalledApp {
  return {
    appId: record.appId,
    dir: record.dir,
    launch: [...record.launch],
    permittedIdentifiers: [...record.permittedIdentifiers],
    backgroundModes: [...record.backgroundModes],
  };
}

/** The store's schema version against the one this command knows. */
function schemaLine(version: number, latest: number, empty: string): Check {
  if (version > latest) {
    return fail(
      'store.schema',
      'store',
      `the store's schema is at version ${version}, newer than this bgtasks knows ` +
        `(${latest}): it was written by a newer bgtasks, and this daemon refuses it ` +
        `(storeNewer)`,
      'upgrade bgtasks (npm install bgtasks@latest), or point the daemon at another ' + 'store',
    );
  }
  if (version === 0)
    return warn('store.schema', 'store', empty, 'start the daemon (bgtasks daemon): it creates the schema');
  if (version < latest)
    return ok(
      'store.schema',
      'store',
      `schema version ${version}, older than this bgtasks (${latest}): it will be ` +
        `migrated at the next daemon start`,
    );
  return ok('store.schema', 'store', `schema version ${version} (the latest)`);
}

function checkSqlite(options: StoreCheckOptions): StoreCheckResult {
  const file = options.location;
  const checks: Check[] = [];
  const stats = existsSync(file) ? statSync(file) : null;
  if (!stats) {
    if (options.daemon)
      return {
        checks: [
          fail(
            'store.file',
            'store',
            `${file} (from ${options.source}) does not exist, yet a daemon runs`,
            "give doctor the daemon's store: bgtasks doctor --store FILE",
          ),
        ],
        appsError: 'the store does not exist',
      };
    return {
      checks: [
        warn(
          'store.file',
          'store',
          `no store yet at ${file} (from ${options.source})`,
          'start the daemon (bgtasks daemon): it creates the store',
        ),
      ],
      ...(options.wantApps ? { apps: [] } : {}),
    };
  }
  if (!stats.isFile())
    return {
      checks: [
        fail(
          'store.file',
          'store',
          `${file} is not a file`,
          `move it away (mv ${shellQuote(file)} ${shellQuote(`${file}.bak`)}) and ` +
            `start the daemon, which creates a new store`,
        ),
      ],
      appsError: 'the store is not a file',
    };
  checks.push(...diskLine(file, options));
  let db: Database.Database;
  let how: string;
  try {
    ({ db, how } = openReadOnly(file, stats.size, options.timeoutMs));
  } catch (error) {
    checks.push(
      fail('store.open', 'store', `${file} cannot be opened read-only: ${errorMessage(error)}`, restoreFix(file)),
    );
    return { checks, appsError: 'the store cannot be opened' };
  }
  try {
    checks.push(ok('store.open', 'store', `${file} (from ${options.source}) opens read-only (${how})`));
    checks.push(integrityLine(db, file));
    const ctx = createSqlContext(db);
    let version: number;
    try {
      version = sqliteSchemaVersion(ctx);
    } catch (error) {
      // A damaged page under the schema table: the integrity line above already says how to recover.
      checks.push(
        fail('store.schema', 'store', `the schema version cannot be read: ${errorMessage(error)}`, restoreFix(file)),
      );
      return { checks, appsError: 'the store is damaged' };
    }
    checks.push(schemaLine(version, SQLITE_LATEST, `${file} has no schema yet (an empty database)`));
    if (!options.wantApps) return { checks };
    return {
      checks,
      ...readApps(ctx, version),
      ...readOverrides(() => getSqliteSetting(ctx, OVERRIDES_SETTING), version <= SQLITE_LATEST),
    };
  } finally {
    db.close();
  }
}

function readApps(ctx: SqlContext, version: number): Pick<StoreCheckResult, 'apps' | 'appsError'> {
  if (version === 0) return { apps: [] };
  if (version > SQLITE_LATEST) return { appsError: "the store's schema is newer than this bgtasks" };
  try {
    return { apps: listSqliteApps(ctx).map(publicApp) };
  } catch (error) {
    // A store from before a migration may lack a column the query names: the daemon migrates it first.
    return { appsError: `the apps could not be read from the store: ${errorMessage(error)}` };
  }
}

function readOverrides(read: () => unknown, known: boolean): Pick<StoreCheckResult, 'overrides'> {
  if (!known) return {};
  try {
    const value = read();
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? { overrides: value as Record<string, unknown> }
      : {};
  } catch {
    return {}; // no settings table yet
  }
}

/**
 * Read-only, and without leaving a trace: a running daemon's store (its `-wal` exists) is opened in
 * place, where a read-only connection needs no new file; a store no daemon holds is read from a copy
 * in memory, with its header switched out of WAL mode (bytes 18 and 19) because SQLite cannot open an
 * in-memory WAL database.
 */
function openReadOnly(file: string, size: number, timeoutMs: number): { db: Database.Database; how: string } {
  if (existsSync(`${file}-wal`) || size > MAX_IN_MEMORY_COPY_BYTES) {
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: timeoutMs });
    try {
      db.pragma('schema_version'); // reads the header: a file that is not a database fails here
    } catch (error) {
      db.close();
      throw error;
    }
    return {
      db,
      how: existsSync(`${file}-wal`) ? "in place, beside the daemon's write-ahead log" : 'in place: too large to copy',
    };
  }
  const bytes = readFileSync(file);
  if (bytes.length >= 20 && bytes[18] === 2 && bytes[19] === 2) {
    bytes[18] = 1;
    bytes[19] = 1;
  }
  const db = new Database(bytes, { readonly: true });
  try {
    db.pragma('schema_version');
  } catch (error) {
    db.close();
    throw error;
  }
  return { db, how: 'from a copy in memory: no daemon holds it' };
}

function integrityLine(db: Database.Database, file: string): Check {
  let problems: string[];
  try {
    problems = (db.pragma('quick_check') as { quick_check: string }[]).map((row) => row.quick_check);
  } catch (error) {
    problems = [errorMessage(error)];
  }
  if (problems.length === 1 && problems[0] === 'ok') return ok('store.integrity', 'store', 'PRAGMA quick_check: ok');
  const shown = problems.slice(0, 3).join('; ');
  return fail(
    'store.integrity',
    'store',
    `${file} is damaged (PRAGMA quick_check): ` +
      `${shown}${problems.length > 3 ? ` (and ${problems.length - 3} more)` : ''}`,
    restoreFix(file),
  );
}

function restoreFix(file: string): string {
  const quoted = shellQuote(file);
  return (
    `stop the daemon, then restore ${quoted} from a backup, or recover what ` +
    `SQLite can (sqlite3 ${quoted} .recover | sqlite3 ` +
    `${shellQuote(`${file}.recovered`)}) and move it in place, or move it away ` +
    `(mv ${quoted} ${shellQuote(`${file}.broken`)}) to start empty`
  );
}

function diskLine(file: string, options: StoreCheckOptions): Check[] {
  const thresholds = options.disk ?? DEFAULT_DISK_THRESHOLDS;
  const fs = statfsSync(dirname(file));
  const free = fs.bavail * fs.bsize;
  const where = `${formatBytes(free)} free on the store's filesystem (${dirname(file)})`;
  if (free < thresholds.failBelowBytes)
    return [
      fail(
        'store.disk',
        'store',
        `only ${where}: the daemon's writes will fail and it will refuse submissions`,
        `free space on the filesystem of ${shellQuote(dirname(file))} (df -h ` + `${shellQuote(dirname(file))})`,
      ),
    ];
  if (free < thresholds.warnBelowBytes)
    return [
      warn(
        'store.disk',
        'store',
        `only ${where}`,
        `free space on the filesystem of ${shellQuote(dirname(file))} (df -h ` + `${shellQuote(dirname(file))})`,
      ),
    ];
  return [ok('store.disk', 'store', where)];
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** A placeholder node id for the reads that are not node-scoped (schema version, the fleet's nodes). */
const NO_NODE = 'bgtasks-doctor';

async function checkPostgres(options: StoreCheckOptions): Promise<StoreCheckResult> {
  const checks: Check[] = [];
  const store = new PostgresStore({ url: options.location, nodeId: options.nodeId ?? NO_NODE, poolSize: 1 });
  const where = `${store.location} (from ${options.source})`;
  try {
    let version: number;
    try {
      version = await withTimeout(store.schemaVersion(), options.timeoutMs, `no answer within ${options.timeoutMs} ms`);
    } catch (error) {
      checks.push(
        fail(
          'store.connect',
          'store',
          `cannot read the PostgreSQL store ${where}: ${errorMessage(error)}`,
          "check that PostgreSQL runs and accepts this user; the daemon's status shows " +
            'the URL without its password, so give doctor the full one: bgtasks doctor ' +
            "--store 'postgres://USER:PASSWORD@HOST/DB?schema=NAME'",
        ),
      );
      return { checks, appsError: 'the store cannot be read' };
    }
    checks.push(ok('store.connect', 'store', `PostgreSQL store ${where} answers`));
    checks.push(schemaLine(version, POSTGRES_LATEST, `the schema of ${store.location} has no bgtasks tables yet`));
    if (version === 0 || version > POSTGRES_LATEST)
      return {
        checks,
        ...(options.wantApps
          ? version === 0
            ? { apps: [] }
            : { appsError: "the store's schema is newer than this bgtasks" }
          : {}),
      };
    if (options.nodeId === null) {
      checks.push(
        warn(
          'store.node',
          'store',
          "this machine's node id is unknown (no daemon answers and <home>/node-id is " +
            'absent), so its row in the fleet was not checked',
          'bgtasks doctor --node-id ID (see bgtasks nodes)',
        ),
      );
      return {
        checks,
        ...(options.wantApps ? { appsError: "this machine's node id is unknown: give --node-id" } : {}),
      };
    }
    checks.push(await nodeLine(store, options));
    if (!options.wantApps) return { checks };
    try {
      const apps = (
        await withTimeout(store.listApps(), options.timeoutMs, `no answer within ${options.timeoutMs} ms`)
      ).map(publicApp);
      const overrides = await withTimeout(
        store.getSetting(OVERRIDES_SETTING),
        options.timeoutMs,
        `no answer within ${options.timeoutMs} ms`,
      );
      return { checks, apps, ...readOverrides(() => overrides, true) };
    } catch (error) {
      return { checks, appsError: `the apps could not be read from the store: ${errorMessage(error)}` };
    }
  } finally {
    await store.close().catch(() => undefined);
  }
}

/** This node's row in the fleet: joined, alive (lease current), or lost. */
async function nodeLine(store: PostgresStore, options: StoreCheckOptions): Promise<Check> {
  const nodeId = options.nodeId!;
  const nodes = await withTimeout(
    store.fleet.listNodes(),
    options.timeoutMs,
    `no answer within ${options.timeoutMs} ms`,
  );
  const node = nodes.find((candidate) => candidate.nodeId === nodeId);
  const now = options.now ?? Date.now();
  if (!node)
    return warn(
      'store.node',
      'store',
      `node ${nodeId} has not joined the fleet yet (${nodes.length} other ` + `node${nodes.length === 1 ? '' : 's'})`,
      'start the daemon with this store (bgtasks daemon --store URL): it joins at ' + 'start',
    );
  if (node.stoppedAt !== null) {
    return options.daemon
      ? fail(
          'store.node',
          'store',
          `node ${nodeId} is marked stopped in the fleet although its daemon answers`,
          'restart the daemon (it rejoins at start)',
        )
      : ok('store.node', 'store', `node ${nodeId} left the fleet cleanly at ${new Date(node.stoppedAt).toISOString()}`);
  }
  if (node.leaseExpiresAt < now) {
    return warn(
      'store.node',
      'store',
      `node ${nodeId}'s lease lapsed at ` +
        `${new Date(node.leaseExpiresAt).toISOString()}: the fleet treats it as lost ` +
        `and runs its pool work elsewhere`,
      options.daemon
        ? "check the daemon's log for heartbeat errors (bgtasks status, bgtasks nodes)"
        : 'start the daemon: bgtasks daemon --store URL',
    );
  }
  return ok(
    'store.node',
    'store',
    `node ${nodeId} is alive in a fleet of ${nodes.length} (bgtasks ` +
      `${node.version}, lease until ${new Date(node.leaseExpiresAt).toISOString()})`,
  );
}
