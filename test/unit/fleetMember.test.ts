/**
 * The fleet member on two schedulers (two nodes) sharing one schema of the real PostgreSQL, in virtual
 * time: heartbeats, leases and due times move with the virtual clock; only the database I/O is real, and
 * the tests wait for it with `idle()`, never with a timer.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { FleetMember } from '../../src/daemon/fleet/fleetMember.js';
import { compileFleetOptions } from '../../src/daemon/fleet/fleetOptions.js';
import { schedulerFleetPort } from '../../src/daemon/fleet/schedulerPort.js';
import { fleetOf } from '../../src/store/fleet.js';
import { openStore } from '../../src/store/index.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { APP, NO_EXTRAS, createHarness, type Harness } from '../support/schedulerHarness.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const OPTIONS = compileFleetOptions({ heartbeatMs: 1_000, leaseMs: 5_000, maintenanceMs: 1_000 });
const CONDITIONS = { online: true, unmetered: true, externalPower: true, lowPowerMode: false, thermal: null };

function job(n: number, fields: { earliestBeginAt?: number } = {}) {
  return {
    identifier: `com.example.feeds.export.${n}`,
    kind: 'processing' as const,
    earliestBeginAt: fields.earliestBeginAt ?? null,
    requiresExternalPower: false,
    requiresNetworkConnectivity: false,
    ...NO_EXTRAS,
    placement: 'any' as const,
  };
}

interface Node {
  readonly h: Harness;
  readonly member: FleetMember;
  /** Identifiers this node's app ran, in order. */
  readonly ran: string[];
}

describe('FleetMember', () => {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  let schema: string;
  let clock: VirtualClock;
  const nodes: Node[] = [];

  before(() => admin.connect());
  after(() => admin.end());
  beforeEach(() => {
    schema = `bgtasks_t_${randomBytes(6).toString('hex')}`;
    clock = new VirtualClock();
  });
  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      await node.member[Symbol.asyncDispose]();
      await node.h[Symbol.asyncDispose]();
    }
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  /** A node whose app completes every task at once, or holds it running when `hold` says so. */
  async function startNode(id: string, hold: (identifier: string) => boolean = () => false): Promise<Node> {
    const store = openStore(`${ADMIN_URL}?schema=${schema}`, { nodeId: id });
    const h = await createHarness({ store, clock, scheduling: { profile: 'server', maxConcurrentTasks: 1 } });
    const ran: string[] = [];
    h.autoApp(['com.example.feeds.export.*'], (task) => {
      ran.push(task.identifier);
      return hold(task.identifier) ? null : true;
    });
    const member = await FleetMember.join({
      clock,
      fleet: fleetOf(store)!,
      scheduler: schedulerFleetPort(h.scheduler),
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      options: OPTIONS,
      conditions: () => CONDITIONS,
      maxConcurrentTasks: 1,
      hostname: id,
      version: 'test',
      storeFaulted: () => false,
      flushed: () => h.settle(),
    });
    const node = { h, member, ran };
    nodes.push(node);
    return node;
  }

  /** Lets every node's writes, passes and fleet operations finish (real I/O), without moving time. */
  async function settle(): Promise<void> {
    for (let i = 0; i < 6; i++) {
      for (const { h, member } of nodes) {
        await h.settle();
        await member.idle();
      }
    }
  }

  async function advance(ms: number): Promise<void> {
    for (let step = 0; step < ms; step += 250) {
      await clock.advanceBy(Math.min(250, ms - step));
      await settle();
    }
  }

  it('runs an any-placement request on the node that submitted it when it can start there', async () => {
    const a = await startNode('node-a');
    await startNode('node-b');
    await a.h.scheduler.submit(APP.appId, [job(1)]);
    await settle();
    assert.deepEqual(a.ran, ['com.example.feeds.export.1']);
    const [run] = await a.h.store.listRuns();
    assert.equal(run?.placement, 'any');
    assert.equal(run?.outcome, 'success');
  });

  it('gives a request it cannot start now (no free slot) back to the pool, where a free node takes it', async () => {
    const a = await startNode('node-a', (identifier) => identifier.endsWith('.1'));
    const b = await startNode('node-b');
    await a.h.scheduler.submit(APP.appId, [job(1)]);
    await settle();
    await a.h.scheduler.submit(APP.appId, [job(2)]); // a's one slot is taken by job 1
    await settle();
    await advance(OPTIONS.heartbeatMs);
    assert.deepEqual(a.ran, ['com.example.feeds.export.1']);
    assert.deepEqual(b.ran, ['com.example.feeds.export.2']);
    assert.equal((await b.h.store.listRuns())[0]?.outcome, 'success');
  });

  it(
    'a request this node cannot start (a condition) goes back after its first ' + 'pass, and a node that can takes it',
    async () => {
      const a = await startNode('node-a');
      const b = await startNode('node-b');
      a.h.conditions.set({ power: 'battery' });
      b.h.conditions.set({ power: 'ac' });
      await settle();
      await a.h.scheduler.submit(APP.appId, [{ ...job(1), requiresExternalPower: true }]);
      await settle();
      assert.deepEqual(schedulerFleetPort(a.h.scheduler).held(), [], 'a gave it back after its first pass');
      await advance(OPTIONS.heartbeatMs);
      assert.deepEqual([a.ran, b.ran], [[], ['com.example.feeds.export.1']]);
    },
  );

  it('a request with a start date waits in the pool and is claimed when due, not a heartbeat late', async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b');
    await a.h.scheduler.submit(APP.appId, [job(1, { earliestBeginAt: clock.now() + 10_500 })]);
    await settle();
    assert.deepEqual([...a.ran, ...b.ran], []);
    await advance(10_000);
    assert.deepEqual([...a.ran, ...b.ran], [], 'not before its start date');
    await advance(500);
    assert.deepEqual([...a.ran, ...b.ran], ['com.example.feeds.export.1']);
  });

  it("a lost node's running task is interrupted and runs again on another node, once", async () => {
    const a = await startNode('node-a');
    const b = await startNode('node-b', () => true); // b's app never finishes
    await b.h.scheduler.submit(APP.appId, [job(1)]);
    await settle();
    assert.deepEqual(b.ran, ['com.example.feeds.export.1']);
    // b goes silent, as a killed daemon does: no heartbeat, no goodbye.
    nodes.splice(nodes.indexOf(b), 1);
    await b.member.halt();
    b.h.scheduler.dispose();
    await advance(OPTIONS.leaseMs + 2 * OPTIONS.maintenanceMs);
    assert.deepEqual(a.ran, ['com.example.feeds.export.1']);
    const [bRun] = await b.h.store.listRuns();
    assert.equal(bRun?.reason, 'nodeLost');
    const [aRun] = await a.h.store.listRuns();
    assert.equal(aRun?.outcome, 'success');
    await b.h[Symbol.asyncDispose]();
  });
});
