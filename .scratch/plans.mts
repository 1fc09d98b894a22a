import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres/postgresStore.ts';
import { request, run, app } from '../test/unit/store.contract.ts';
const schema = `h19_${randomBytes(4).toString('hex')}`;
const store = new PostgresStore({ url: `postgres://postgres@127.0.0.1:5432/test?schema=${schema}`, nodeId: 'n1' });
await store.migrate();
await store.apply({ putApps: [app({ appId: 'a' })] });
const N = 20000;
const reqs = Array.from({ length: N }, (_, i) =>
  request({ appId: 'a', identifier: `a.job.${i}`, requestId: `r${i}`, placement: 'any' }),
);
for (let i = 0; i < N; i += 2000) await store.apply({ putRequests: reqs.slice(i, i + 2000) });
const old = Array.from({ length: N }, (_, i) =>
  run({
    appId: 'a',
    identifier: `a.old.${i}`,
    taskId: `old${i}`,
    requestId: `ro${i}`,
    placement: 'any',
    state: 'finished',
    completedAt: Date.now(),
  }),
);
for (let i = 0; i < N; i += 2000) await store.apply({ insertRuns: old.slice(i, i + 2000) });
const db = new pg.Client({
  connectionString: 'postgres://postgres@127.0.0.1:5432/test',
  options: `-c search_path=${schema}`,
});
await db.connect();
await db.query(`UPDATE requests SET lease_owner = NULL`);
await db.query(`UPDATE requests SET lease_owner = 'n2' WHERE seq % 400 = 0`);
await db.query('ANALYZE');
const plans: Record<string, [string, unknown[]]> = {
  claimDue: [
    `EXPLAIN ANALYZE WITH picked AS (SELECT seq FROM requests WHERE node_id IS NULL AND lease_owner IS NULL AND app_id = ANY($1::text[]) AND (earliest_begin_at IS NULL OR earliest_begin_at <= $2) AND NOT (request_id = ANY($3::text[])) ORDER BY seq LIMIT 50 FOR UPDATE SKIP LOCKED) UPDATE requests r SET lease_owner = 'n1' FROM picked WHERE r.seq = picked.seq`,
    [['a'], Date.now(), ['r1']],
  ],
  candidates: [
    `EXPLAIN ANALYZE SELECT request_id FROM requests WHERE node_id IS NULL AND lease_owner IS NULL AND app_id = ANY($1::text[]) AND (earliest_begin_at IS NULL OR earliest_begin_at <= $2) ORDER BY seq LIMIT 200`,
    [['a'], Date.now()],
  ],
  pruneRuns: [
    `EXPLAIN ANALYZE SELECT seq FROM runs WHERE state = 'finished' AND completed_at < $1 ORDER BY completed_at LIMIT 10000`,
    [Date.now() - 86400000],
  ],
  pruneEvents: [
    `EXPLAIN ANALYZE SELECT seq FROM events WHERE at < $1 ORDER BY at LIMIT 10000`,
    [Date.now() - 86400000],
  ],
  lostNodes: [
    `EXPLAIN ANALYZE SELECT DISTINCT holder FROM (SELECT lease_owner AS holder FROM requests WHERE node_id IS NULL AND lease_owner IS NOT NULL UNION ALL SELECT node_id FROM runs WHERE state <> 'finished' AND placement = 'any') held WHERE NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = held.holder AND n.lease_expires_at >= $1)`,
    [Date.now()],
  ],
  held: [`EXPLAIN ANALYZE SELECT request_id FROM requests WHERE node_id IS NULL AND lease_owner = $1`, ['n1']],
};
for (const [name, [sql, params]] of Object.entries(plans)) {
  await db.query('BEGIN');
  const rows = (await db.query(sql, params)).rows.map((r: Record<string, string>) => r['QUERY PLAN']);
  await db.query('ROLLBACK');
  console.log(`== ${name}\n${rows.join('\n')}`);
}
await db.query(`DROP SCHEMA ${schema} CASCADE`);
await db.end();
await store.close();
