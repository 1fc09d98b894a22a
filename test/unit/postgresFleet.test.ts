/**
 * The fleet's store operations against the real PostgreSQL (127.0.0.1:5432, database `test`), each test
 * in a schema of its own: membership and leases, claims with SKIP LOCKED, the maintainer's takeover of
 * a lost node's work, pruning, and LISTEN/NOTIFY. Times are given to every operation, so leases expire
 * by passing a later `at`, never by waiting.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import type { TaskRequest, TaskRun } from '../../src/engine/types.js';
import { fleetOf, type FleetStore, type NodeReport } from '../../src/store/fleet.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { T0, app, request, run } from './store.contract.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const LEASE = 10_000;
const REPORT: NodeReport = {
  conditions: { online: true, unmetered: true, externalPower: true, lowPowerMode: false, thermal: 'nominal' },
  apps: [{ appId: 'com.example.feeds', enabled: true }],
  capacity: { maxConcurrentTasks: 4, running: 0 },
};
const META = { hostname: 'test-host', version: '0.0.0' };

function anywhere(n: number, overrides: Partial<TaskRequest> = {}): TaskRequest {
  return request({
    requestId: `any-${n}`,
    identifier: `com.example.feeds.export.${n}`,
    kind: 'processing',
    placement: 'any',
    ...overrides,
  });
}

describe('PostgreSQL fleet', () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  let schema: string;
  let stores: Store[];
  const node = (index: number): { store: Store; fleet: FleetStore } => {
    const store = stores[index]!;
    return { store, fleet: fleetOf(store)! };
  };

  before(() => admin.connect());
  after(() => admin.end());
  beforeEach(async () => {
    schema = `bgtasks_t_${randomBytes(6).toString('hex')}`;
    stores = ['a', 'b', 'c'].map((id) => openStore(`${ADMIN_URL}?schema=${schema}`, { nodeId: `node-${id}` }));
    for (const store of stores) await store.migrate();
    for (const store of stores) await store.apply({ putApps: [app()] });
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  describe('membership', () => {
    it('a rejoin takes a new epoch; a heartbeat of an older epoch or after the lease is refused', async () => {
      const { fleet } = node(0);
      assert.equal(await fleet.join(REPORT, META, T0, LEASE), 1);
      assert.equal((await fleet.heartbeat(1, REPORT, T0 + 1_000, LEASE)).renewed, true);
      assert.equal(await fleet.join(REPORT, META, T0 + 2_000, LEASE), 2);
      assert.deepEqual(
        await fleet.heartbeat(1, REPORT, T0 + 3_000, LEASE),
        { renewed: false, held: [], lost: { reason: 'replaced', hostname: 'test-host' } },
        'an older incarnation',
      );
      assert.deepEqual(
        await fleet.heartbeat(2, REPORT, T0 + 2_000 + LEASE + 1, LEASE),
        { renewed: false, held: [], lost: { reason: 'expired', hostname: 'test-host' } },
        'the lease had lapsed',
      );
      const [info] = await fleet.listNodes();
      assert.equal(info?.nodeId, 'node-a');
      assert.equal(info?.epoch, 2);
      assert.deepEqual(info?.conditions, REPORT.conditions);
    });

    it('a heartbeat lists the pool requests the node holds', async () => {
      const { store, fleet } = node(0);
      await fleet.join(REPORT, META, T0, LEASE);
      await store.apply({ putRequests: [anywhere(1), request()] });
      assert.deepEqual((await fleet.heartbeat(1, REPORT, T0 + 1, LEASE)).held, ['any-1']);
    });

    it('joining again releases what an earlier process with the id held', async () => {
      const { store, fleet } = node(0);
      await fleet.join(REPORT, META, T0, LEASE);
      await store.apply({ putRequests: [anywhere(1)] });
      await fleet.join(REPORT, META, T0 + 1, LEASE);
      assert.deepEqual(await store.listRequests(), []);
      assert.deepEqual(
        (await node(1).fleet.candidates(['com.example.feeds'], T0 + 2, 10)).map((r) => r.requestId),
        ['any-1'],
      );
    });
  });

  describe('claims', () => {
    it('a pool request held by the node that submitted it is no one else’s until released', async () => {
      const a = node(0);
      const b = node(1);
      await a.store.apply({ putRequests: [anywhere(1)] });
      assert.deepEqual(await b.fleet.candidates(['com.example.feeds'], T0 + 5_000, 10), []);
      assert.equal(await a.fleet.release(['any-1']), 1);
      const [candidate] = await b.fleet.candidates(['com.example.feeds'], T0 + 5_000, 10);
      assert.deepEqual(candidate, anywhere(1));
      assert.deepEqual(await b.fleet.claim(['any-1']), [anywhere(1)]);
      assert.deepEqual(await a.fleet.claim(['any-1']), [], 'already held by b');
      assert.deepEqual(await b.store.listRequests(), [anywhere(1)]);
      assert.deepEqual(await a.store.listRequests(), []);
      assert.equal(await a.fleet.release(['any-1']), 0, 'a cannot release what b holds');
    });

    it('candidates are only due requests of the apps asked about; nextDue says when the next one is', async () => {
      const a = node(0);
      await a.store.apply({
        putRequests: [
          anywhere(1, { earliestBeginAt: T0 + 60_000 }),
          anywhere(2),
          anywhere(3, { appId: 'com.example.other' }),
        ],
      });
      await a.fleet.release(['any-1', 'any-2', 'any-3']);
      const b = node(1);
      assert.deepEqual(
        (await b.fleet.candidates(['com.example.feeds'], T0 + 5_000, 10)).map((r) => r.requestId),
        ['any-2'],
      );
      assert.equal(await b.fleet.nextDue(['com.example.feeds'], T0 + 5_000), T0 + 60_000);
      assert.deepEqual(
        (await b.fleet.candidates(['com.example.feeds'], T0 + 60_000, 10)).map((r) => r.requestId),
        ['any-1', 'any-2'],
      );
      assert.equal(await b.fleet.nextDue([], T0), null);
    });

    it('nodes claiming the same requests at once split them: each is claimed exactly once', async () => {
      const requests = Array.from({ length: 60 }, (_, n) => anywhere(n));
      await node(0).store.apply({ putRequests: requests });
      await node(0).fleet.release(requests.map((r) => r.requestId));
      const ids = requests.map((r) => r.requestId);
      const claimed = await Promise.all(stores.map((store) => fleetOf(store)!.claim(ids)));
      const all = claimed
        .flat()
        .map((r) => r.requestId)
        .sort();
      assert.deepEqual(all, [...ids].sort(), 'every request claimed once, by one node');
      assert.equal(new Set(all).size, ids.length);
    });
  });

  describe('maintenance', () => {
    const running = (n: number, overrides: Partial<TaskRun> = {}): TaskRun =>
      run({
        taskId: `task-${n}`,
        requestId: `any-${n}`,
        identifier: `com.example.feeds.export.${n}`,
        kind: 'processing',
        placement: 'any',
        ...overrides,
      });

    it(
      "takes over a lost node's work: claims released, 'any' runs interrupted and " +
        'back in the pool, device runs left alone',
      async () => {
        const a = node(0);
        const b = node(1);
        await a.fleet.join(REPORT, META, T0, LEASE);
        await b.fleet.join(REPORT, META, T0, LEASE);
        await b.store.apply({ putRequests: [anywhere(9)], insertRuns: [running(1), run({ taskId: 'device-1' })] });
        assert.deepEqual(await a.fleet.maintain(T0 + 1_000, LEASE * 100), {
          lostNodes: [],
          released: 0,
          interrupted: [],
          requeued: [],
          prunedRuns: 0,
          prunedEvents: 0,
        });

        const at = T0 + LEASE + 1; // b stopped heartbeating; a's lease is renewed
        await a.fleet.heartbeat(1, REPORT, at - 1, LEASE);
        const report = await a.fleet.maintain(at, LEASE * 100);
        assert.deepEqual(report?.lostNodes, ['node-b']);
        assert.equal(report?.released, 1);
        assert.deepEqual(
          report?.interrupted.map((r) => [r.taskId, r.outcome, r.reason]),
          [['task-1', 'interrupted', 'nodeLost']],
        );
        assert.deepEqual(
          report?.requeued.map((r) => [r.requestId, r.placement]),
          [['any-1', 'any']],
        );
        assert.equal((await b.store.getRun('task-1'))?.reason, 'nodeLost', "recorded in b's history, where the run is");
        assert.equal((await b.store.getRun('device-1'))?.state, 'running', 'only b may run its device task again');
        const events = await b.store.listEvents({ taskId: 'task-1' });
        assert.deepEqual(events.map((e) => e.type).sort(), ['interrupted', 'requeued']);
        const pool = (await a.fleet.candidates(['com.example.feeds'], at, 10)).map((r) => r.requestId).sort();
        assert.deepEqual(pool, ['any-1', 'any-9']);
        assert.equal(
          (await a.fleet.maintain(at + 1, LEASE * 100))?.interrupted.length,
          0,
          'nothing is taken over twice',
        );
      },
    );

    it('a late completion from the lost node does not undo the takeover', async () => {
      const [a, b] = [node(0), node(1)];
      await a.fleet.join(REPORT, META, T0, LEASE);
      await b.fleet.join(REPORT, META, T0, LEASE);
      await b.store.apply({ insertRuns: [running(1)] });
      await a.fleet.heartbeat(1, REPORT, T0 + LEASE, LEASE);
      await a.fleet.maintain(T0 + LEASE + 1, LEASE * 100);
      await b.store.apply({
        updateRuns: [{ taskId: 'task-1', state: 'finished', outcome: 'success', completedAt: T0 + LEASE + 2 }],
      });
      assert.equal((await b.store.getRun('task-1'))?.reason, 'nodeLost');
    });

    it('a node that left is taken over at once', async () => {
      const [a, b] = [node(0), node(1)];
      await a.fleet.join(REPORT, META, T0, LEASE);
      await b.fleet.join(REPORT, META, T0, LEASE);
      await b.store.apply({ insertRuns: [running(1)] });
      await b.fleet.leave(T0 + 100);
      assert.equal((await a.fleet.maintain(T0 + 101, LEASE * 100))?.interrupted.length, 1);
      const [info] = (await a.fleet.listNodes()).filter((n) => n.nodeId === 'node-b');
      assert.equal(info?.stoppedAt, T0 + 100);
    });

    it('one maintainer at a time: while another holds the lock, maintain answers null', async () => {
      const holder = new pg.Client({ connectionString: ADMIN_URL });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(`SELECT pg_advisory_xact_lock(${0x6267_7461})`);
        assert.equal(await node(0).fleet.maintain(T0, LEASE), null);
        await holder.query('COMMIT');
        assert.notEqual(await node(0).fleet.maintain(T0, LEASE), null);
      } finally {
        await holder.end();
      }
    });

    it('prunes finished runs and events older than the retention, and nothing else', async () => {
      const { store, fleet } = node(0);
      await fleet.join(REPORT, META, T0 + 100_000, LEASE);
      await store.apply({
        insertRuns: [
          run({ taskId: 'old', state: 'finished', outcome: 'success', completedAt: T0 }),
          run({ taskId: 'recent', state: 'finished', outcome: 'success', completedAt: T0 + 90_000 }),
          run({ taskId: 'active', state: 'running', completedAt: null }),
        ],
        events: [{ at: T0, appId: null, identifier: null, taskId: null, type: 'profile', reason: null, detail: null }],
      });
      const report = await fleet.maintain(T0 + 100_000, 50_000);
      assert.equal(report?.prunedRuns, 1);
      assert.equal(report?.prunedEvents, 1);
      assert.deepEqual((await store.listRuns()).map((r) => r.taskId).sort(), ['active', 'recent']);
    });
  });

  it('LISTEN/NOTIFY: a notify from one node wakes the others', { timeout: 20_000 }, async () => {
    let woken = 0;
    let resolveWake!: () => void;
    const waked = new Promise<void>((resolve) => (resolveWake = resolve));
    const listener = await node(1).fleet.listen(
      () => {
        woken += 1;
        if (woken >= 2) resolveWake(); // the first wake is the one on connecting
      },
      (error) => assert.fail(error),
    );
    try {
      await node(0).fleet.notify();
      await waked;
    } finally {
      await listener[Symbol.asyncDispose]();
    }
    assert.ok(woken >= 2);
  });
});
