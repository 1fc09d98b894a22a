/**
 * The PostgreSQL store against the real server (127.0.0.1:5432, trust auth, database `test`): the whole
 * store contract, each case on a store in a schema of its own (dropped afterwards), then what only a
 * shared, node-scoped store has: nodes that do not see each other, the pool of `'any'` requests, several
 * daemons migrating at once, and the server's errors as StoreErrors.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, describe, it } from 'node:test';
import pg from 'pg';
import type { TaskRequest } from '../../src/engine/types.js';
import { StoreError } from '../../src/store/errors.js';
import { openStore } from '../../src/store/index.js';
import { toStoreError } from '../../src/store/postgres/errors.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/postgres/migrations/index.js';
import { PostgresStore, defaultPostgresStoreOptions } from '../../src/store/postgres/postgresStore.js';
import type { PostgresStoreOptions } from '../../src/store/postgres/postgresStore.js';
import type { Store } from '../../src/store/store.js';
import { workflowsContract } from './store.contract.workflows.js';
import { messagingContract, push } from './store.contract.messaging.js';
import { schedulingContract } from './store.contract.scheduling.js';
import { pruningContract } from './store.contract.pruning.js';
import { chainsContract, child } from './store.contract.chains.js';
import { T0, app, event, request, run, storeContract, storeError } from './store.contract.js';

const SERVER = 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Client({ connectionString: SERVER });
/** Schemas created by this file and not yet dropped. */
const schemas = new Set<string>();

before(() => admin.connect());
afterEach(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  schemas.clear();
});
after(() => admin.end());

/** A new schema name; dropped after the test. */
function freshSchema(): string {
  const schema = `bgtasks_t_${randomBytes(6).toString('hex')}`;
  schemas.add(schema);
  return schema;
}

function urlOf(schema: string): string {
  return `${SERVER}?schema=${schema}`;
}

function openNode(schema: string, nodeId: string, options: Partial<PostgresStoreOptions> = {}): PostgresStore {
  return new PostgresStore({ url: urlOf(schema), nodeId, ...options });
}

async function openMigrated(schema = freshSchema(), nodeId = 'node-a'): Promise<PostgresStore> {
  const store = openNode(schema, nodeId);
  await store.migrate();
  return store;
}

storeContract('PostgresStore', () => openMigrated());
schedulingContract('PostgresStore', () => openMigrated());
messagingContract('PostgresStore', () => openMigrated());
pruningContract('PostgresStore', () => openMigrated());
workflowsContract('PostgresStore', () => openMigrated());
chainsContract('PostgresStore', () => openMigrated());

const anywhere = (overrides: Partial<TaskRequest> = {}): TaskRequest =>
  request({
    requestId: 'any-1',
    identifier: 'com.example.feeds.export.1',
    kind: 'processing',
    placement: 'any',
    ...overrides,
  });

/** The pool's rows, as the fleet would see them. */
async function poolRows(schema: string): Promise<{ request_id: string; lease_owner: string | null }[]> {
  const { rows } = await admin.query(
    `SELECT request_id, lease_owner FROM ${schema}.requests WHERE node_id IS ` + `NULL ORDER BY seq`,
  );
  return rows as { request_id: string; lease_owner: string | null }[];
}

describe('PostgresStore nodes', () => {
  let schema: string;
  let a: PostgresStore;
  let b: PostgresStore;
  const ids = async (store: Store) => (await store.listRequests()).map((r) => r.requestId);

  const open = async () => {
    schema = freshSchema();
    a = await openMigrated(schema, 'node-a');
    b = await openMigrated(schema, 'node-b');
  };
  afterEach(async () => {
    await a.close();
    await b.close();
  });

  it('every node sees the records of child submissions, and the first of a key stands for the fleet', async () => {
    await open();
    // The parent ran on node a, which submitted the successor; its re-run on node b must find that.
    await a.apply({ putApps: [app()], putChildSubmissions: [child()] });
    await b.apply({ putApps: [app()], putChildSubmissions: [child({ parentTaskId: 'run-2-on-b' })] });
    assert.deepEqual(await b.listChildSubmissions('com.example.feeds', ['parent-req']), [child()]);
    assert.deepEqual(await a.listChildSubmissions('com.example.feeds', ['parent-req']), [child()]);
  });

  it('each node sees only its own apps, requests, runs, settings, events and pushes', async () => {
    await open();
    const appB = app({ dir: '/opt/b' });
    await a.apply({
      putApps: [app()],
      putRequests: [request()],
      insertRuns: [run()],
      settings: { turn: 'a' },
      events: [event()],
      insertPushes: [push()],
    });
    await b.apply({
      putApps: [appB],
      putRequests: [request({ requestId: 'req-b' })],
      insertRuns: [run({ taskId: 'task-b' })],
      settings: { turn: 'b' },
      events: [event({ type: 'dispatched' }), event({ type: 'started' })],
      insertPushes: [push({ pushId: 'push-b1' }), push({ pushId: 'push-b2', seq: 2 })],
    });
    assert.deepEqual(await a.listApps(), [app()]);
    assert.deepEqual(await b.getApp(app().appId), appB);
    assert.deepEqual(await ids(a), ['req-1']);
    assert.deepEqual(await ids(b), ['req-b']);
    assert.deepEqual(
      (await a.listRuns()).map((r) => r.taskId),
      ['task-1'],
    );
    assert.equal(await a.getRun('task-b'), undefined);
    assert.equal(await a.getSetting('turn'), 'a');
    assert.equal(await b.getSetting('turn'), 'b');
    assert.deepEqual(
      (await a.listEvents()).map((e) => e.type),
      ['submitted'],
    );
    assert.equal((await b.listEvents()).length, 2);
    assert.equal(await a.lastPushSeq(), 1);
    assert.equal(await b.lastPushSeq(), 2);
    assert.deepEqual(
      (await b.listPushes()).map((p) => p.pushId),
      ['push-b2', 'push-b1'],
    );

    // Writes are node-scoped too: b's update, delete and uninstall leave a's rows alone.
    await b.apply({
      updateRuns: [{ taskId: 'task-1', state: 'finished' }],
      deleteApps: [app().appId],
      settings: { turn: null },
    });
    assert.equal((await a.getRun('task-1'))?.state, 'running');
    assert.deepEqual(await a.listApps(), [app()]);
    assert.deepEqual(await ids(a), ['req-1']);
    assert.deepEqual(await ids(b), []);
    assert.equal(await a.getSetting('turn'), 'a');
  });

  it("an 'any' request goes to the pool, held by the node that put it", async () => {
    await open();
    await a.apply({ putRequests: [anywhere(), request()] });
    assert.deepEqual(await a.listRequests(), [anywhere(), request()]);
    assert.deepEqual(await b.listRequests(), []);
    assert.deepEqual(await poolRows(schema), [{ request_id: 'any-1', lease_owner: 'node-a' }]);

    await admin.query(`UPDATE ${schema}.requests SET lease_owner = 'node-b' WHERE request_id = 'any-1'`);
    assert.deepEqual(await ids(a), ['req-1']);
    assert.deepEqual(await b.listRequests(), [anywhere()]);
  });

  it("an 'any' request replaces the pool's request for the identifier, whoever held it, and takes it", async () => {
    await open();
    await a.apply({ putRequests: [anywhere()] });
    await b.apply({ putRequests: [anywhere({ requestId: 'any-2' })] });
    assert.deepEqual(await poolRows(schema), [{ request_id: 'any-2', lease_owner: 'node-b' }]);
    assert.deepEqual(await ids(a), []);
    assert.deepEqual(await ids(b), ['any-2']);
  });

  it('a request replaces the one of the other placement for its identifier', async () => {
    await open();
    const device = request({ identifier: anywhere().identifier, requestId: 'dev-1' });
    await a.apply({ putRequests: [device] });
    // Re-put with the same requestId under the other placement, and back.
    await a.apply({ putRequests: [{ ...device, placement: 'any' }] });
    assert.deepEqual(await a.listRequests(), [{ ...device, placement: 'any' }]);
    await a.apply({ putRequests: [device] });
    assert.deepEqual(await a.listRequests(), [device]);
    assert.deepEqual(await poolRows(schema), []);
    // In one batch, the last of an identifier wins, as written one by one.
    await a.apply({
      putRequests: [
        anywhere({ requestId: 'x1' }),
        request({ requestId: 'x2', identifier: anywhere().identifier }),
        anywhere({ requestId: 'x3' }),
      ],
    });
    assert.deepEqual(await ids(a), ['x3']);
  });

  it('deleteRequests removes pool requests by exact requestId or by identifier, whoever holds them', async () => {
    await open();
    await a.apply({ putRequests: [anywhere(), anywhere({ requestId: 'any-2', identifier: 'x.two' })] });
    await b.apply({ deleteRequests: [{ appId: app().appId, requestId: 'any-1' }] });
    assert.deepEqual(await ids(a), ['any-2']);
    await b.apply({ deleteRequests: [{ appId: app().appId, identifier: 'x.two', requestId: 'stale' }] });
    assert.deepEqual(await ids(a), ['any-2']);
    await b.apply({ deleteRequests: [{ appId: app().appId, identifier: 'x.two' }] });
    assert.deepEqual(await poolRows(schema), []);
  });

  it("deleteApps takes the app's pool requests this node holds, not the ones others hold", async () => {
    await open();
    await a.apply({ putApps: [app()], putRequests: [anywhere(), request()] });
    await b.apply({ putApps: [app()], putRequests: [anywhere({ requestId: 'any-b', identifier: 'x.b' })] });
    await a.apply({ deleteApps: [app().appId] });
    assert.deepEqual(await ids(a), []);
    assert.deepEqual(await poolRows(schema), [{ request_id: 'any-b', lease_owner: 'node-b' }]);
  });

  it(
    "recoverInterruptedRuns releases the node's claims and requeues an 'any' run " + 'to the pool, held by none',
    async () => {
      await open();
      const lost = run({ taskId: 't-any', requestId: 'r-any', identifier: 'x.any', placement: 'any' });
      const superseded = run({ taskId: 't-old', requestId: 'r-old', identifier: 'x.taken', placement: 'any' });
      await a.apply({ putApps: [app()], putRequests: [anywhere()], insertRuns: [superseded, lost] });
      await b.apply({
        putRequests: [anywhere({ requestId: 'r-new', identifier: 'x.taken' })],
        insertRuns: [run({ taskId: 't-b' })],
      });

      const result = await a.recoverInterruptedRuns(T0 + 100_000);
      assert.deepEqual(
        result.interrupted.map((r) => r.taskId),
        ['t-any', 't-old'],
      );
      assert.deepEqual(
        result.requeued.map((r) => [r.requestId, r.placement]),
        [['r-any', 'any']],
      );
      assert.deepEqual(await poolRows(schema), [
        { request_id: 'any-1', lease_owner: null },
        { request_id: 'r-new', lease_owner: 'node-b' },
        { request_id: 'r-any', lease_owner: null },
      ]);
      assert.deepEqual(await ids(a), []);
      const detail = (await a.listEvents({ taskId: 't-old' }))[0]?.detail;
      assert.deepEqual(detail, { requeued: false, supersededBy: 'r-new' });
      assert.equal((await b.getRun('t-b'))?.state, 'running', "another node's run is not touched");
    },
  );
});

describe('PostgresStore schema', () => {
  it('migrates from three stores at once, each migration recorded once', async () => {
    const schema = freshSchema();
    const stores = ['a', 'b', 'c'].map((id) => openNode(schema, `node-${id}`));
    try {
      await Promise.all(stores.map((store) => store.migrate()));
      for (const store of stores) assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION);
      const { rows } = await admin.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      // One row per migration, each once.
      assert.deepEqual(
        rows.map((row: { version: number }) => row.version),
        MIGRATIONS.map((migration) => migration.version),
      );
      assert.equal(await stores[0]!.integrityCheck(), 'ok');
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('reports version 0 before migrate(), and says to migrate when a table is missing', async () => {
    await using store = openNode(freshSchema(), 'node-a');
    assert.equal(await store.schemaVersion(), 0);
    await assert.rejects(store.listApps(), (error: unknown) => {
      assert.ok(error instanceof StoreError);
      assert.equal(error.code, 'storeFailed');
      assert.match(error.message, /migrate\(\)/);
      return true;
    });
  });

  it('refuses a schema newer than this code with storeNewer', async () => {
    const schema = freshSchema();
    await using store = await openMigrated(schema);
    await admin.query(
      `INSERT INTO ${schema}.schema_migrations (version, name, applied_at) VALUES ` + `($1, 'future', 0)`,
      [LATEST_SCHEMA_VERSION + 1],
    );
    await using again = openNode(schema, 'node-b');
    await assert.rejects(again.migrate(), storeError('storeNewer'));
    assert.equal(await store.schemaVersion(), LATEST_SCHEMA_VERSION + 1);
  });

  it('integrityCheck names a missing index and an invalid constraint', async () => {
    const schema = freshSchema();
    await using store = await openMigrated(schema);
    await admin.query(`DROP INDEX ${schema}.requests_pool_lease`);
    await admin.query(`ALTER TABLE ${schema}.runs ADD CONSTRAINT runs_sane CHECK (attempt < 100) NOT VALID`);
    const report = await store.integrityCheck();
    assert.match(report, /index requests_pool_lease is missing/);
    assert.match(report, /constraint runs_sane is not validated/);
  });

  it('uses the schema of the URL, and public by default', async () => {
    const schema = freshSchema();
    await using store = await openMigrated(schema);
    await store.apply({ putApps: [app()] });
    const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.apps`);
    assert.deepEqual(rows, [{ n: 1 }]);
    assert.equal(defaultPostgresStoreOptions().schema, 'public');
  });
});

describe('PostgresStore options', () => {
  it('has its defaults in defaultPostgresStoreOptions()', () => {
    assert.deepEqual(defaultPostgresStoreOptions(), { poolSize: 4, schema: 'public' });
  });

  const bad: [string, unknown, RegExp][] = [
    ['a missing url', { nodeId: 'a' }, /`url`/],
    ['a url of another database', { url: 'mysql://db/x', nodeId: 'a' }, /`url`/],
    ['a url that is not one', { url: 'not a url', nodeId: 'a' }, /`url`/],
    ['a schema with a quote', { url: `${SERVER}?schema=x"y`, nodeId: 'a' }, /`schema`/],
    ['an upper-case schema', { url: `${SERVER}?schema=Public`, nodeId: 'a' }, /`schema`/],
    ['two schemas', { url: `${SERVER}?schema=a&schema=b`, nodeId: 'a' }, /`schema`/],
    ['a missing nodeId', { url: SERVER }, /`nodeId`/],
    ['an empty nodeId', { url: SERVER, nodeId: '' }, /`nodeId`/],
    ['a nodeId with spaces', { url: SERVER, nodeId: 'my node' }, /`nodeId`/],
    ['a pool of 0', { url: SERVER, nodeId: 'a', poolSize: 0 }, /`poolSize`/],
    ['an unknown option', { url: SERVER, nodeId: 'a', schema: 'x' }, /`schema`/],
  ];
  for (const [what, options, message] of bad) {
    it(`rejects ${what} with a TypeError naming the option`, () => {
      assert.throws(
        () => new PostgresStore(options as PostgresStoreOptions),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, message);
          return true;
        },
      );
    });
  }

  it('never echoes a password from a bad url', () => {
    assert.throws(
      () => new PostgresStore({ url: 'mysql://u:secret@db/x', nodeId: 'a' }),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.doesNotMatch(error.message, /secret/);
        return true;
      },
    );
  });

  it('reports the URL without its password as its location', async () => {
    await using store = new PostgresStore({
      url: 'postgres://bgtasks:secret@db.example:5433/fleet?schema=jobs',
      nodeId: 'a',
    });
    assert.equal(store.location, 'postgres://bgtasks@db.example:5433/fleet?schema=jobs');
    assert.equal(store.kind, 'postgres');
    assert.equal(store.nodeId, 'a');
  });
});

describe('PostgresStore errors', () => {
  it('fails with storeFailed naming the location when nothing listens on the port', async () => {
    await using store = new PostgresStore({ url: 'postgres://postgres:pw@127.0.0.1:1/test', nodeId: 'a' });
    for (const use of [() => store.migrate(), () => store.listApps(), () => store.apply({ putApps: [app()] })]) {
      await assert.rejects(use(), (error: unknown) => {
        assert.ok(storeError('storeFailed')(error) && error instanceof StoreError);
        assert.ok(error.message.includes('postgres://postgres@127.0.0.1:1/test'), error.message);
        assert.doesNotMatch(error.message, /pw/);
        return true;
      });
    }
  });

  it('rolls back the whole batch on a unique violation, naming the field', async () => {
    await using store = await openMigrated();
    await store.apply({ putRequests: [request({ requestId: 'dup', identifier: 'x.one' })] });
    await assert.rejects(
      store.apply([
        { putApps: [app()], events: [event()], insertRuns: [run()] },
        {
          putRequests: [
            request({ requestId: 'fresh', identifier: 'x.fresh' }),
            request({ requestId: 'dup', identifier: 'x.two' }),
          ],
        },
      ]),
      storeError('storeInvalid', 'requestId'),
    );
    assert.deepEqual(await store.listApps(), []);
    assert.deepEqual(await store.listEvents(), []);
    assert.equal(await store.getRun('task-1'), undefined);
    assert.deepEqual(
      (await store.listRequests()).map((r) => r.requestId),
      ['dup'],
    );
    // The connection the failed batch used is fine for the next one.
    await store.apply({ putApps: [app()] });
    assert.deepEqual(await store.listApps(), [app()]);
  });

  it('a taskId is unique across the fleet', async () => {
    const schema = freshSchema();
    await using a = await openMigrated(schema, 'node-a');
    await using b = await openMigrated(schema, 'node-b');
    await a.apply({ insertRuns: [run()] });
    await assert.rejects(b.apply({ insertRuns: [run()] }), storeError('storeInvalid', 'taskId'));
  });

  it('maps SQLSTATEs and socket errors to store error codes, keeping the cause', () => {
    const cases: [string, string][] = [
      ['53100', 'storeFull'],
      ['53200', 'storeFull'],
      ['25006', 'storeReadOnly'],
      ['42501', 'storeReadOnly'],
      ['40001', 'storeBusy'],
      ['40P01', 'storeBusy'],
      ['55P03', 'storeBusy'],
      ['57014', 'storeBusy'],
      ['XX001', 'storeCorrupt'],
      ['23505', 'storeInvalid'],
      ['23514', 'storeInvalid'],
      ['22P05', 'storeInvalid'],
      ['57P01', 'storeFailed'],
      ['08006', 'storeFailed'],
      ['ECONNREFUSED', 'storeFailed'],
      ['EPIPE', 'storeFailed'],
    ];
    for (const [code, expected] of cases) {
      const cause = Object.assign(new Error(`boom ${code}`), { code });
      const mapped = toStoreError(cause, 'apply on postgres://db');
      assert.equal(mapped.code, expected, code);
      assert.equal(mapped.cause, cause);
      assert.match(mapped.message, /^apply on postgres:\/\/db: boom/);
    }
    const unique = Object.assign(new Error('duplicate key'), {
      code: '23505',
      detail: 'Key (node_id, seq)=(a, 3) already exists.',
    });
    assert.equal(toStoreError(unique, 'apply').field, 'seq');
    const notNull = Object.assign(new Error('null value'), { code: '23502', column: 'submitted_at' });
    assert.equal(toStoreError(notNull, 'apply').field, 'submittedAt');
    const refused = Object.assign(new AggregateError([new Error('connect ECONNREFUSED 127.0.0.1:1')], ''), {
      code: 'ECONNREFUSED',
    });
    assert.match(toStoreError(refused, 'listApps on x').message, /ECONNREFUSED 127\.0\.0\.1:1/);
    const already = new StoreError('storeClosed', 'closed');
    assert.equal(toStoreError(already, 'apply'), already);
  });
});

describe('openStore with a PostgreSQL location', () => {
  it('opens a node-scoped PostgresStore', async () => {
    const schema = freshSchema();
    await using store = openStore(urlOf(schema), { nodeId: 'node-a', poolSize: 2 });
    assert.ok(store instanceof PostgresStore);
    assert.equal(store.kind, 'postgres');
    await store.migrate();
    await store.apply({ putApps: [app()] });
    assert.deepEqual(await store.listApps(), [app()]);
  });

  it('requires nodeId, and refuses the SQLite options', () => {
    for (const location of ['postgres://bgtasks@db/bgtasks', 'postgresql://db/bgtasks', 'POSTGRES://db']) {
      assert.throws(
        () => openStore(location),
        (error: unknown) => error instanceof TypeError && /`nodeId`/.test(error.message),
      );
    }
    assert.throws(() => openStore(SERVER, { nodeId: 'a', synchronous: 'normal' }), /`synchronous`/);
    assert.throws(() => openStore(':memory:', { nodeId: 'a' }), /`nodeId`/);
  });
});
