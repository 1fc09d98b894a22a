/**
 * The fleet's views (src/store/postgres/fleet/views.ts) against the real PostgreSQL (127.0.0.1:5432,
 * database `test`), each test in a schema of its own: two node-scoped stores write their rows as their
 * daemons would, `nodes` is filled by hand, and the views must see every node's rows.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import type { NodeInfo } from '../../src/store/fleet.js';
import { PostgresStore } from '../../src/store/postgres/postgresStore.js';
import type { PgContext } from '../../src/store/postgres/sql/context.js';
import { listFleetRequests, listFleetRuns, listNodes, pagePool } from '../../src/store/postgres/fleet/views.js';
import { T0, request, run, storeError } from './store.contract.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

/** A context over the store's own connections (its search_path and BIGINT parsing). */
function contextOf(store: PostgresStore): PgContext {
  return {
    nodeId: store.nodeId,
    rows: async <Row>(sql: string, params: readonly unknown[] = []) => (await store.query(sql, params)).rows as Row[],
    run: async (sql: string, params: readonly unknown[] = []) => (await store.query(sql, params)).rowCount ?? 0,
    exec: async (sql: string) => {
      await store.query(sql);
    },
  };
}

describe('PostgreSQL fleet views', () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  let schema: string;
  let a: PostgresStore;
  let b: PostgresStore;
  let ctx: PgContext;

  before(() => admin.connect());
  after(() => admin.end());
  beforeEach(async () => {
    schema = `bgtasks_t_${randomBytes(6).toString('hex')}`;
    a = new PostgresStore({ url: `${ADMIN_URL}?schema=${schema}`, nodeId: 'node-a' });
    b = new PostgresStore({ url: `${ADMIN_URL}?schema=${schema}`, nodeId: 'node-b' });
    await a.migrate();
    await b.migrate();
    ctx = contextOf(b);
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it('lists every node by id, with what it reported, and unknowns for what it has not', async () => {
    await admin.query(
      `INSERT INTO ${schema}.nodes (node_id, hostname, epoch, started_at, heartbeat_at, lease_expires_at, stopped_at, conditions, apps, capacity, version)
       VALUES ('node-b', 'host-b', 3, $1, $2, $3, NULL, $4, $5, $6, '0.1.0'),
              ('node-a', 'host-a', 1, $1, $1, $1, $2, DEFAULT, DEFAULT, DEFAULT, DEFAULT)`,
      [
        T0,
        T0 + 5_000,
        T0 + 35_000,
        JSON.stringify({ online: true, unmetered: false, externalPower: null, lowPowerMode: false, thermal: 'fair' }),
        JSON.stringify([
          { appId: 'com.example.feeds', enabled: true },
          { appId: 'com.example.mail', enabled: false },
        ]),
        JSON.stringify({ maxConcurrentTasks: 4, running: 2 }),
      ],
    );
    const nodes = await listNodes(ctx);
    const expected: NodeInfo[] = [
      {
        nodeId: 'node-a',
        hostname: 'host-a',
        epoch: 1,
        version: '',
        startedAt: T0,
        heartbeatAt: T0,
        leaseExpiresAt: T0,
        stoppedAt: T0 + 5_000,
        conditions: { online: null, unmetered: null, externalPower: null, lowPowerMode: null, thermal: null },
        apps: [],
        capacity: { maxConcurrentTasks: 0, running: 0 },
      },
      {
        nodeId: 'node-b',
        hostname: 'host-b',
        epoch: 3,
        version: '0.1.0',
        startedAt: T0,
        heartbeatAt: T0 + 5_000,
        leaseExpiresAt: T0 + 35_000,
        stoppedAt: null,
        conditions: { online: true, unmetered: false, externalPower: null, lowPowerMode: false, thermal: 'fair' },
        apps: [
          { appId: 'com.example.feeds', enabled: true },
          { appId: 'com.example.mail', enabled: false },
        ],
        capacity: { maxConcurrentTasks: 4, running: 2 },
      },
    ];
    assert.deepEqual(nodes, expected);
  });

  it('lists every pending request in the fleet, oldest first, with its node or its holder', async () => {
    await a.apply({
      putRequests: [
        request({ requestId: 'a-device', submittedAt: T0 + 3_000 }),
        request({
          requestId: 'pool-held',
          identifier: 'com.example.feeds.export.1',
          kind: 'processing',
          placement: 'any',
          submittedAt: T0 + 1_000,
        }),
        request({
          requestId: 'pool-free',
          identifier: 'com.example.feeds.export.2',
          kind: 'processing',
          placement: 'any',
          submittedAt: T0 + 4_000,
        }),
      ],
    });
    await b.apply({
      putRequests: [
        request({ requestId: 'b-device', submittedAt: T0 + 2_000 }),
        request({
          requestId: 'b-mail',
          appId: 'com.example.mail',
          identifier: 'com.example.mail.sync',
          submittedAt: T0 + 5_000,
        }),
      ],
    });
    await admin.query(`UPDATE ${schema}.requests SET lease_owner = NULL WHERE request_id = 'pool-free'`);

    const all = await listFleetRequests(ctx);
    assert.deepEqual(
      all.map(({ request: r, nodeId, heldBy }) => [r.requestId, nodeId, heldBy, r.placement]),
      [
        ['pool-held', null, 'node-a', 'any'],
        ['b-device', 'node-b', null, undefined],
        ['a-device', 'node-a', null, undefined],
        ['pool-free', null, null, 'any'],
        ['b-mail', 'node-b', null, undefined],
      ],
    );
    assert.ok(!('placement' in all[1]!.request), 'a device request has no placement field, as the engine writes it');
    assert.deepEqual(
      all[0]!.request,
      request({
        requestId: 'pool-held',
        identifier: 'com.example.feeds.export.1',
        kind: 'processing',
        placement: 'any',
        submittedAt: T0 + 1_000,
      }),
    );

    const mail = await listFleetRequests(ctx, 'com.example.mail');
    assert.deepEqual(
      mail.map(({ request: r }) => r.requestId),
      ['b-mail'],
    );
    await assert.rejects(listFleetRequests(ctx, ''), storeError('storeInvalid', 'appId'));
  });

  it('pages the pool for a picture: its oldest requests up to the limit, and its size', async () => {
    await a.apply({
      putRequests: [
        request({ requestId: 'a-device', submittedAt: T0 }),
        ...[3, 1, 2].map((n) =>
          request({
            requestId: `pool-${n}`,
            identifier: `com.example.feeds.export.${n}`,
            kind: 'processing',
            placement: 'any',
            submittedAt: T0 + n,
          }),
        ),
      ],
    });
    const page = await pagePool(ctx, 2);
    assert.deepEqual(
      page.requests.map(({ request: r, nodeId, heldBy }) => [r.requestId, nodeId, heldBy]),
      [
        ['pool-1', null, 'node-a'],
        ['pool-2', null, 'node-a'],
      ],
    );
    assert.equal(page.size, 3);
  });

  it('lists runs of every node, newest first, filtered by app, identifier and node', async () => {
    await a.apply({
      insertRuns: [run({ taskId: 't1', state: 'finished', outcome: 'success', completedAt: T0 + 9_000 })],
    });
    await b.apply({
      insertRuns: [
        run({ taskId: 't2', identifier: 'com.example.feeds.export.1', kind: 'processing', placement: 'any' }),
      ],
    });
    await a.apply({
      insertRuns: [run({ taskId: 't3', appId: 'com.example.mail', identifier: 'com.example.mail.sync' })],
    });
    await b.apply({ insertRuns: [run({ taskId: 't4' })] });

    const ids = async (filter?: Parameters<typeof listFleetRuns>[1]): Promise<string[][]> =>
      (await listFleetRuns(ctx, filter)).map(({ run: r, nodeId }) => [r.taskId, nodeId]);
    assert.deepEqual(await ids(), [
      ['t4', 'node-b'],
      ['t3', 'node-a'],
      ['t2', 'node-b'],
      ['t1', 'node-a'],
    ]);
    assert.deepEqual(await ids({ appId: 'com.example.feeds' }), [
      ['t4', 'node-b'],
      ['t2', 'node-b'],
      ['t1', 'node-a'],
    ]);
    assert.deepEqual(await ids({ appId: 'com.example.feeds', identifier: 'com.example.feeds.refresh' }), [
      ['t4', 'node-b'],
      ['t1', 'node-a'],
    ]);
    assert.deepEqual(await ids({ nodeId: 'node-a' }), [
      ['t3', 'node-a'],
      ['t1', 'node-a'],
    ]);
    assert.deepEqual(await ids({ nodeId: 'node-a', appId: 'com.example.feeds' }), [['t1', 'node-a']]);
    assert.deepEqual(await ids({ limit: 2 }), [
      ['t4', 'node-b'],
      ['t3', 'node-a'],
    ]);
    assert.deepEqual(await ids({ limit: Infinity }), await ids());
    assert.deepEqual(await ids({ nodeId: 'node-z' }), []);

    const [finished] = await listFleetRuns(ctx, { nodeId: 'node-a', identifier: 'com.example.feeds.refresh' });
    assert.deepEqual(
      finished!.run,
      run({ taskId: 't1', state: 'finished', outcome: 'success', completedAt: T0 + 9_000 }),
    );
    const [pooled] = await listFleetRuns(ctx, { identifier: 'com.example.feeds.export.1' });
    assert.equal(pooled!.run.placement, 'any');
  });

  it('refuses a malformed filter with storeInvalid naming the field', async () => {
    await assert.rejects(listFleetRuns(ctx, { limit: -1 }), storeError('storeInvalid', 'limit'));
    await assert.rejects(listFleetRuns(ctx, { nodeId: '' }), storeError('storeInvalid', 'nodeId'));
    await assert.rejects(listFleetRuns(ctx, { node: 'node-a' } as never), storeError('storeInvalid', 'node'));
    await assert.rejects(listFleetRuns(ctx, { appId: 7 } as never), storeError('storeInvalid', 'appId'));
  });
});
