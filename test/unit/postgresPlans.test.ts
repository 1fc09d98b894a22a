/**
 * The fleet's statements never read a whole table (issue 19): with a pool, a history of runs and an
 * event log of some thousands of rows each, and statistics up to date, EXPLAIN shows each statement a
 * node runs on its own (claims, heartbeat, the maintainer's round, a batch's delete and update) using an
 * index, never a sequential scan of `requests`, `runs` or `events`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { fleetOf } from '../../src/store/fleet.js';
import { openStore } from '../../src/store/index.js';
import { CANDIDATES, CLAIM, CLAIM_DUE } from '../../src/store/postgres/fleet/claims.js';
import { LOST_NODES, PRUNE_EVENTS, PRUNE_RUNS } from '../../src/store/postgres/fleet/maintenance.js';
import { HELD } from '../../src/store/postgres/fleet/membership.js';
import type { Store } from '../../src/store/store.js';
import { T0, app, event, request, run } from './store.contract.js';

const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = 4_000;
const APP = 'com.example.feeds';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function scans(node: PlanNode): string[] {
  const own = node['Relation Name']
    ? [`${node['Node Type']} ${node['Relation Name']}${node['Index Name'] ? ` (${node['Index Name']})` : ''}`]
    : [];
  return [...own, ...(node.Plans ?? []).flatMap(scans)];
}

describe('PostgreSQL fleet statements: index scans only', () => {
  const schema = `bgtasks_plans_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL, options: `-c search_path=${schema}` });
  let store: Store;

  before(async () => {
    await admin.connect();
    store = openStore(`${ADMIN_URL}?schema=${schema}`, { nodeId: 'node-a' });
    await store.migrate();
    await store.apply({ putApps: [app()] });
    for (let from = 0; from < ROWS; from += 1_000) {
      const ids = Array.from({ length: 1_000 }, (_, i) => from + i);
      await store.apply({
        putRequests: ids.map((n) =>
          request({ requestId: `any-${n}`, identifier: `${APP}.export.${n}`, kind: 'processing', placement: 'any' }),
        ),
        insertRuns: ids.map((n) =>
          run({
            taskId: `done-${n}`,
            requestId: `old-${n}`,
            identifier: `${APP}.export.old.${n}`,
            placement: 'any',
            state: 'finished',
            outcome: 'success',
            completedAt: T0 + n,
          }),
        ),
        events: ids.map((n) => event({ at: T0 + n })),
      });
    }
    // A submitting node holds its requests until its first pass gives them back: give them back, then
    // claim a block, as mid-run.
    await admin.query('UPDATE requests SET lease_owner = NULL WHERE node_id IS NULL');
    assert.equal((await fleetOf(store)!.claimDue([APP], T0 + 10_000, 50, [])).length, 50);
    await admin.query('ANALYZE');
  });

  after(async () => {
    await store?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.end();
  });

  const statements: [string, string, unknown[]][] = [
    ['claim (one statement)', CLAIM_DUE, ['node-a', [APP], T0 + 10_000, 50, ['any-1']]],
    ['claim of requests looked at', CLAIM, ['node-a', ['any-100', 'any-101', 'any-2000']]],
    ['candidates', CANDIDATES, [[APP], T0 + 10_000, 200]],
    ['heartbeat: what the node holds', HELD, ['node-a']],
    ['maintenance: lost nodes', LOST_NODES, [T0]],
    ['maintenance: prune runs (nothing old)', PRUNE_RUNS, [T0 - 1]],
    ['maintenance: prune events (nothing old)', PRUNE_EVENTS, [T0 - 1]],
  ];
  for (const [name, sql, params] of statements) {
    it(name, async () => {
      await admin.query('BEGIN');
      try {
        const { rows } = await admin.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
          `EXPLAIN (FORMAT JSON) ${sql}`,
          params,
        );
        const found = scans(rows[0]!['QUERY PLAN'][0]!.Plan);
        assert.deepEqual(
          found.filter((scan) => /^Seq Scan (requests|runs|events)$/.test(scan)),
          [],
          `${name}: ${found.join(', ')}`,
        );
      } finally {
        await admin.query('ROLLBACK');
      }
    });
  }
});
