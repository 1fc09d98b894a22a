import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/index.js';
import { toStoreError } from '../../src/store/sqlite/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/sqlite/migrations/index.js';
import { createSqlContext } from '../../src/store/sqlite/sql/context.js';
import { RUN_FIELDS, runParam, runParams } from '../../src/store/sqlite/sql/rows.js';
import { migrate, schemaVersion } from '../../src/store/sqlite/sql/migrate.js';
import { SqliteStore, defaultSqliteStoreOptions } from '../../src/store/sqlite/sqliteStore.js';
import type { SqliteStoreOptions } from '../../src/store/sqlite/sqliteStore.js';
import type { Store } from '../../src/store/store.js';
import { schedulingContract } from './store.contract.scheduling.js';
import { messagingContract } from './store.contract.messaging.js';
import { pruningContract } from './store.contract.pruning.js';
import { workflowsContract } from './store.contract.workflows.js';
import { chainsContract } from './store.contract.chains.js';
import { T0, app, request, run, storeContract, storeError } from './store.contract.js';

let dir: string;
let counter = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'bgtasks-store-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A path for a new store file, unique within this run. */
function freshFile(): string {
  counter += 1;
  return join(dir, `store-${counter}.sqlite`);
}

async function openMigrated(options: Partial<SqliteStoreOptions> = {}): Promise<SqliteStore> {
  const store = SqliteStore.open({ file: freshFile(), ...options });
  await store.migrate();
  return store;
}

/** Both halves of the store contract. */
function contract(name: string, makeStore: () => Promise<Store>): void {
  storeContract(name, makeStore);
  schedulingContract(name, makeStore);
  messagingContract(name, makeStore);
  pruningContract(name, makeStore);
  workflowsContract(name, makeStore);
  chainsContract(name, makeStore);
}

contract('SqliteStore on a file', () => openMigrated());
contract('SqliteStore in memory', async () => {
  const store = SqliteStore.open({ file: ':memory:' });
  await store.migrate();
  return store;
});

describe('SqliteStore.open options', () => {
  it('has its defaults in defaultSqliteStoreOptions()', () => {
    assert.deepEqual(defaultSqliteStoreOptions(), { synchronous: 'full', busyTimeoutMs: 5000, readonly: false });
  });

  const bad: [string, unknown, RegExp][] = [
    ['a missing file', {}, /`file`/],
    ['an empty file', { file: '' }, /`file`/],
    ['an unknown synchronous level', { file: ':memory:', synchronous: 'off' }, /`synchronous`.*"off"/],
    ['a negative busy timeout', { file: ':memory:', busyTimeoutMs: -1 }, /`busyTimeoutMs`.*`-1` \(number\)/],
    ['a fractional busy timeout', { file: ':memory:', busyTimeoutMs: 1.5 }, /`busyTimeoutMs`/],
    ['a non-boolean readonly', { file: ':memory:', readonly: 'yes' }, /`readonly`/],
    ['readonly in memory', { file: ':memory:', readonly: true }, /`readonly`/],
    ['an unknown option', { file: ':memory:', journalMode: 'delete' }, /`journalMode`/],
  ];
  for (const [what, options, message] of bad) {
    it(`rejects ${what} with a TypeError naming the option`, () => {
      assert.throws(
        () => SqliteStore.open(options as SqliteStoreOptions),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('sets WAL, synchronous and the busy timeout', async () => {
    await using full = await openMigrated();
    assert.deepEqual(full.pragmas(), { journalMode: 'wal', synchronous: 'full', busyTimeoutMs: 5000 });
    await using normal = await openMigrated({ synchronous: 'normal', busyTimeoutMs: 250 });
    assert.deepEqual(normal.pragmas(), { journalMode: 'wal', synchronous: 'normal', busyTimeoutMs: 250 });
    assert.equal(full.kind, 'sqlite');
  });

  it('reports the absolute path as its location', async () => {
    const file = freshFile();
    await using store = SqliteStore.open({ file });
    assert.equal(store.location, file);
  });
});

describe('SqliteStore files', () => {
  it('creates the database, -wal and -shm with mode 0600', async () => {
    const file = freshFile();
    const store = SqliteStore.open({ file });
    await store.migrate();
    await store.apply({ putApps: [app()] });
    for (const path of [file, `${file}-wal`, `${file}-shm`]) {
      assert.ok(existsSync(path), `${path} should exist while the store is open`);
      assert.equal(statSync(path).mode & 0o777, 0o600, path);
    }
    await store.close();
  });

  it('narrows an existing file to 0600', async () => {
    const file = freshFile();
    const first = SqliteStore.open({ file });
    await first.migrate();
    await first.close();
    chmodSync(file, 0o644);
    await using _store = SqliteStore.open({ file });
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });

  it('keeps what a resolved apply wrote even if the store is never closed', async () => {
    const file = freshFile();
    const writer = SqliteStore.open({ file });
    await writer.migrate();
    await writer.apply({ putApps: [app()], putRequests: [request()], settings: { turn: 1 } });
    // No close: the second connection sees only what was committed.
    await using reader = SqliteStore.open({ file });
    await reader.migrate();
    assert.deepEqual(await reader.listApps(), [app()]);
    assert.deepEqual(await reader.listRequests(), [request()]);
    assert.equal(await reader.getSetting('turn'), 1);
    await writer.close();
  });

  it('keeps what a resolved apply wrote when the process is killed', async () => {
    const file = freshFile();
    const storeModule = pathToFileURL(
      fileURLToPath(new URL('../../src/store/sqlite/sqliteStore.ts', import.meta.url)),
    ).href;
    const script = `
      import { SqliteStore } from ${JSON.stringify(storeModule)};
      const store = SqliteStore.open({ file: process.env.STORE_FILE });
      await store.migrate();
      await store.apply({ putApps: [${JSON.stringify(app())}], settings: { crashed: 'after commit' } });
      process.kill(process.pid, 'SIGKILL');
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { ...process.env, STORE_FILE: file },
      encoding: 'utf8',
    });
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    assert.ok(existsSync(`${file}-wal`), 'the commit should still be in the WAL, not checkpointed');
    await using store = SqliteStore.open({ file });
    await store.migrate();
    assert.deepEqual(await store.listApps(), [app()]);
    assert.equal(await store.getSetting('crashed'), 'after commit');
    assert.equal(await store.integrityCheck(), 'ok');
  });

  it('reopens with its data, and migrate() records each migration once', async () => {
    const file = freshFile();
    const first = SqliteStore.open({ file });
    await first.migrate();
    await first.apply({ putRequests: [request()] });
    await first.close();
    await using second = SqliteStore.open({ file });
    await second.migrate();
    await second.migrate();
    assert.equal(await second.schemaVersion(), LATEST_SCHEMA_VERSION);
    assert.deepEqual(await second.listRequests(), [request()]);
    const raw = new Database(file, { readonly: true });
    const rows = raw.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    raw.close();
    assert.deepEqual(
      rows,
      MIGRATIONS.map(({ version, name }) => ({ version, name })),
    );
  });

  it('upgrades a store written at schema 1 in place; old rows read back with the new fields defaulted', async () => {
    const file = freshFile();
    const v1 = new Database(file);
    migrate(createSqlContext(v1), T0, MIGRATIONS.slice(0, 1));
    // Written as the release with schema 1 wrote them, column by column.
    const oldRequest = request({ earliestBeginAt: T0 + 60_000, requiresExternalPower: true });
    v1.prepare(
      `INSERT INTO requests (request_id, app_id, identifier, kind, earliest_begin_at, requires_network_connectivity,
         requires_external_power, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      oldRequest.requestId,
      oldRequest.appId,
      oldRequest.identifier,
      oldRequest.kind,
      oldRequest.earliestBeginAt,
      0,
      1,
      oldRequest.submittedAt,
    );
    const oldRun = run({
      taskId: 'task-old',
      state: 'finished',
      outcome: 'success',
      completedAt: T0 + 40_000,
      background: false,
    });
    const v1Columns = [
      'task_id',
      'request_id',
      'app_id',
      'identifier',
      'kind',
      'requires_network_connectivity',
      'requires_external_power',
      'earliest_begin_at',
      'submitted_at',
      'eligible_at',
      'forced',
      'state',
      'launch',
      'launched_at',
      'started_at',
      'deadline_at',
      'expired_at',
      'expiration_reason',
      'completed_at',
      'outcome',
      'reason',
      'error',
    ];
    v1.prepare(`INSERT INTO runs (${v1Columns.join(', ')}) VALUES (${v1Columns.map(() => '?').join(', ')})`).run(
      oldRun.taskId,
      oldRun.requestId,
      oldRun.appId,
      oldRun.identifier,
      oldRun.kind,
      1,
      0,
      oldRun.earliestBeginAt,
      oldRun.submittedAt,
      oldRun.eligibleAt,
      0,
      oldRun.state,
      oldRun.launch,
      oldRun.launchedAt,
      oldRun.startedAt,
      oldRun.deadlineAt,
      null,
      null,
      oldRun.completedAt,
      oldRun.outcome,
      null,
      null,
    );
    v1.close();

    await using store = SqliteStore.open({ file });
    assert.equal(await store.schemaVersion(), 1);
    await store.migrate();
    assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
    // The fixtures' defaults are exactly what migrations 2 and 3 give an old row (except background, set above).
    assert.deepEqual(await store.listRequests(), [oldRequest]);
    assert.deepEqual(await store.getRun('task-old'), oldRun);
    assert.deepEqual(await store.listRuns({ finishedSince: T0 + 40_000 }), [oldRun]);
    assert.equal(await store.integrityCheck(), 'ok');

    // The upgraded rows take the new fields like any other.
    await store.apply({ updateRuns: [{ taskId: 'task-old', cpuMs: 90, attempt: 2 }] });
    assert.deepEqual(await store.getRun('task-old'), { ...oldRun, cpuMs: 90, attempt: 2 });
    const recurrence = { intervalMs: 60_000, toleranceMs: 0, anchorAt: T0, period: 0 };
    const periodic = { ...oldRequest, requestId: 'req-periodic', recurrence };
    await store.apply({ putRequests: [periodic] });
    assert.deepEqual(await store.listRequests(), [periodic]);
    const continued = {
      ...oldRequest,
      requestId: 'req-continued',
      identifier: 'com.example.feeds.export.1',
      kind: 'continued' as const,
      continued: { title: 'Exporting', subtitle: 'a.mp4', strategy: 'queue' as const, requiredResources: ['gpu'] },
    };
    await store.apply({ putRequests: [continued] });
    assert.deepEqual(
      (await store.listRequests()).find((request) => request.requestId === 'req-continued'),
      continued,
    );
    const progress = {
      title: 'Exporting',
      subtitle: 'a.mp4',
      strategy: 'queue' as const,
      requiredResources: [],
      completedUnits: 40,
      totalUnits: 100,
    };
    await store.apply({ updateRuns: [{ taskId: 'task-old', continued: progress }] });
    assert.deepEqual((await store.getRun('task-old'))?.continued, progress);
    await assert.rejects(
      store.apply({
        putRequests: [
          { ...continued, requestId: 'bad', continued: { ...continued.continued, strategy: 'later' as never } },
        ],
      }),
      /strategy/,
    );
  });

  it('reports version 0 before migrate()', async () => {
    await using store = SqliteStore.open({ file: freshFile() });
    assert.equal(await store.schemaVersion(), 0);
    await assert.rejects(store.listApps(), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.match(error.message, /migrate\(\)/);
      return true;
    });
  });
});

describe('SqliteStore errors', () => {
  it('opens read-only: reads work, writes fail with storeReadOnly and change nothing', async () => {
    const file = freshFile();
    const writer = SqliteStore.open({ file });
    await writer.migrate();
    await writer.apply({ putApps: [app()] });
    await writer.close();

    await using store = SqliteStore.open({ file, readonly: true });
    await store.migrate();
    assert.deepEqual(await store.listApps(), [app()]);
    await assert.rejects(store.apply({ putRequests: [request()] }), storeError('storeReadOnly'));
    await assert.rejects(store.recoverInterruptedRuns(0), storeError('storeReadOnly'));
    assert.deepEqual(await store.listRequests(), []);
  });

  it('maps a write refused by SQLite itself to storeReadOnly', async () => {
    const file = freshFile();
    const writer = SqliteStore.open({ file });
    await writer.migrate();
    await writer.close();
    // A migration the read-only connection would have to write.
    const raw = new Database(file, { readonly: true });
    assert.throws(
      () =>
        migrate(createSqlContext(raw), 0, [...MIGRATIONS, { version: 99, name: 'more', sql: 'CREATE TABLE more (x)' }]),
      (error: unknown) => toStoreError(error, 'migrate').code === 'storeReadOnly',
    );
    raw.close();
  });

  it('fails read-only on a missing file instead of creating it', () => {
    const file = freshFile();
    assert.throws(() => SqliteStore.open({ file, readonly: true }), storeError('storeFailed'));
    assert.equal(existsSync(file), false);
  });

  it('reports a file that is not a database as storeCorrupt', () => {
    const file = freshFile();
    writeFileSync(file, 'this is not a database\n'.repeat(200));
    assert.throws(() => SqliteStore.open({ file }), storeError('storeCorrupt'));
    assert.throws(() => openStore(file, { readonly: true }), storeError('storeCorrupt'));
  });

  it('refuses a schema newer than this code with storeNewer', async () => {
    const file = freshFile();
    const first = SqliteStore.open({ file });
    await first.migrate();
    await first.close();
    const raw = new Database(file);
    raw
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(LATEST_SCHEMA_VERSION + 1, 'future', 0);
    raw.close();
    await using store = SqliteStore.open({ file });
    await assert.rejects(store.migrate(), storeError('storeNewer'));
    assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION + 1);
  });

  it('rolls back a migration that fails part-way', () => {
    const db = new Database(':memory:');
    const ctx = createSqlContext(db);
    const broken = {
      version: LATEST_SCHEMA_VERSION + 1,
      name: 'broken',
      sql: 'CREATE TABLE half (x); SELECT * FROM missing_table;',
    };
    assert.throws(() => migrate(ctx, 0, [...MIGRATIONS, broken]));
    assert.equal(schemaVersion(ctx), LATEST_SCHEMA_VERSION);
    assert.deepEqual(db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'half'").get(), { n: 0 });
    db.close();
  });

  it('fails with storeBusy when another connection holds the write lock past the timeout', async () => {
    const file = freshFile();
    await using store = SqliteStore.open({ file, busyTimeoutMs: 20 });
    await store.migrate();
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    await assert.rejects(store.apply({ putApps: [app()] }), storeError('storeBusy'));
    other.exec('ROLLBACK');
    other.close();
    await store.apply({ putApps: [app()] });
    assert.deepEqual(await store.listApps(), [app()]);
  });

  it('maps driver and file-system error codes to store error codes, keeping the cause', () => {
    const cases: [string, string][] = [
      ['SQLITE_FULL', 'storeFull'],
      ['SQLITE_READONLY', 'storeReadOnly'],
      ['SQLITE_READONLY_DBMOVED', 'storeReadOnly'],
      ['SQLITE_BUSY', 'storeBusy'],
      ['SQLITE_BUSY_SNAPSHOT', 'storeBusy'],
      ['SQLITE_LOCKED_SHAREDCACHE', 'storeBusy'],
      ['SQLITE_CORRUPT', 'storeCorrupt'],
      ['SQLITE_CORRUPT_INDEX', 'storeCorrupt'],
      ['SQLITE_NOTADB', 'storeCorrupt'],
      ['SQLITE_CONSTRAINT_UNIQUE', 'storeInvalid'],
      ['SQLITE_CANTOPEN', 'storeFailed'],
      ['SQLITE_IOERR_FSYNC', 'storeFailed'],
      ['ENOSPC', 'storeFull'],
      ['EROFS', 'storeReadOnly'],
      ['ENOENT', 'storeFailed'],
    ];
    for (const [code, expected] of cases) {
      const cause = Object.assign(new Error(`boom ${code}`), { code });
      const mapped = toStoreError(cause, 'apply');
      assert.equal(mapped.code, expected, code);
      assert.equal(mapped.cause, cause);
    }
    const unique = Object.assign(new Error('UNIQUE constraint failed: runs.task_id'), {
      code: 'SQLITE_CONSTRAINT_UNIQUE',
    });
    assert.equal(toStoreError(unique, 'apply').field, 'taskId');
    const already = new StoreError('storeClosed', 'closed');
    assert.equal(toStoreError(already, 'apply'), already);
    assert.equal(toStoreError('a string', 'apply').code, 'storeFailed');
  });
});

describe('openStore', () => {
  it('opens a SQLite store for a path or :memory:', async () => {
    await using memory = openStore(':memory:');
    await memory.migrate();
    assert.equal(memory.kind, 'sqlite');
    assert.equal(memory.location, ':memory:');
    const file = freshFile();
    await using onDisk = openStore(file, { synchronous: 'normal' });
    await onDisk.migrate();
    assert.equal(onDisk.location, file);
  });

  it(
    'takes a postgres:// location as the fleet store, which needs a node id; ' + 'SQLite options are refused with it',
    async () => {
      for (const location of ['postgres://bgtasks@db/bgtasks', 'postgresql://db/bgtasks', 'POSTGRES://db']) {
        assert.throws(() => openStore(location), /`nodeId`/);
        assert.throws(() => openStore(location, { nodeId: 'n1', synchronous: 'normal' }), /`synchronous`/);
        const store = openStore(location, { nodeId: 'n1' });
        assert.equal(store.kind, 'postgres');
        await store.close();
      }
      assert.throws(() => openStore(':memory:', { nodeId: 'n1' }), /`nodeId`/);
    },
  );
});

describe('run rows', () => {
  it('runParams writes every column as runParam does, field by field, in column order', () => {
    const samples = [
      run(),
      run({
        placement: 'any',
        recurrence: { intervalMs: 60_000, toleranceMs: 1_000, anchorAt: T0, period: 3 },
        retry: { maxAttempts: 3, backoff: 'exponential', initialDelay: 1_000, maxDelay: 60_000 },
      }),
      run({
        forced: true,
        background: true,
        requiresExternalPower: true,
        requiresUnmeteredNetwork: true,
        continued: null,
        cpuMs: 12,
        outcome: 'success',
        state: 'finished',
        completedAt: T0 + 9,
      }),
    ];
    for (const sample of samples) {
      assert.deepEqual(
        runParams(sample),
        RUN_FIELDS.map((field) => runParam(field, sample[field])),
      );
    }
    assert.equal(runParams(samples[0]!).length, RUN_FIELDS.length);
  });
});
