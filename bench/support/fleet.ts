/**
 * The throughput workload in fleet mode: `nodes` daemons (each its own home, as on separate machines)
 * on one fresh PostgreSQL schema, the bench app installed and connected on every node, N processing
 * requests submitted with `placement = 'any'` by node-1's app.
 *
 * Everything is made eligible at once as in the SQLite row: the requests require external power and
 * every node says battery, so node-1 gives each back to the pool after its first scheduling pass and no
 * node claims any. Then all nodes flip to AC in parallel (the clock starts before the flips), each
 * claims what its free slots can start, and the time runs until the store holds N finished runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import pg from 'pg';
import { PG_ADMIN_URL, sleep } from '../peers/common.js';
import type { PeerResult, ThroughputOptions } from '../peers/types.js';
import { startSystem, type BenchSystem } from './system.js';

/** Preloaded into each daemon: counts its round trips to PostgreSQL (bench/support/pgRoundTrips.mjs). */
const ROUND_TRIP_COUNTER = fileURLToPath(new URL('./pgRoundTrips.mjs', import.meta.url));

/** The fleet's heartbeat (its default): a node does not claim again for a heartbeat what it just gave back. */
const HEARTBEAT_MS = 1_000;

export interface FleetOptions extends ThroughputOptions {
  readonly nodes: number;
  /**
   * SIGKILL the last node once a third of the tasks have runs, and time how long its work took to start
   * elsewhere (the fleet's default lease and maintenance times). The finish line is then N tasks
   * succeeded, not N finished runs (the killed node's cut-off runs end `interrupted` too).
   */
  readonly kill?: boolean;
}

/** What the kill did: the killed node's work in hand, and when the last of it started on another node. */
export interface Takeover {
  /** Pool requests the node held and runs it had not finished, when it was killed. */
  readonly inHand: number;
  /** From the kill to the start, on another node, of the last of those, in ms. */
  readonly lastStartedAfterMs: number;
  /** Tasks whose success came from more than one started run, and how many of them were not in hand. */
  readonly ranTwice: number;
  readonly ranTwiceNotInHand: number;
}

export interface FleetResult extends PeerResult {
  readonly nodes: number;
  /** Finished runs per node, node-1 first. */
  readonly perNode: Record<string, number>;
  /** Runs beyond one per task (a task run twice), and finished runs whose outcome was not success. */
  readonly extraRuns: number;
  readonly unsuccessful: number;
  /** The daemons' warnings and errors during the run (sensor notices left out), with their counts. */
  readonly warnings: readonly string[];
  /**
   * The daemons' round trips to PostgreSQL (every query, BEGIN and COMMIT included) during the timed part, per task.
   */
  readonly roundTripsPerTask: number;
  readonly takeover?: Takeover;
  /**
   * CPU time of the PostgreSQL server's processes during the timed part, per task, in ms (Linux: read
   * from /proc; every database on the server counts, so other work on it shows up too). null elsewhere.
   */
  readonly serverCpuMsPerTask: number | null;
}

export async function runFleet({ n, concurrency, nodes, kill = false }: FleetOptions): Promise<FleetResult> {
  const schema = `bgtasks_bench_${randomBytes(6).toString('hex')}`;
  const url = `${PG_ADMIN_URL}?schema=${schema}`;
  const db = new pg.Client({ connectionString: PG_ADMIN_URL });
  await db.connect();
  const count = async (sql: string): Promise<number> => Number((await db.query<{ n: string }>(sql)).rows[0]!.n);
  const systems: BenchSystem[] = [];
  const warnings = new Map<string, number>();
  const countDir = mkdtempSync(join(tmpdir(), 'bgt-bench-rt-'));
  const roundTrips = (): number =>
    readdirSync(countDir)
      .filter((file) => !file.endsWith('.tmp'))
      .reduce((sum, file) => sum + Number(readFileSync(join(countDir, file), 'utf8') || 0), 0);
  try {
    const options = {
      profile: 'server',
      maxConcurrentTasks: concurrency,
      maxConcurrentTasksPerApp: concurrency,
      maxPendingProcessingPerApp: n + 1_000,
    };
    // Started together, as a fleet's machines often are (the schema's migration lock makes them take turns).
    const started = await Promise.allSettled(
      Array.from({ length: nodes }, (_, i) =>
        startSystem(
          options,
          undefined,
          ['--store', url, '--node-id', `node-${i + 1}`, '--fleet-option', `heartbeatMs=${HEARTBEAT_MS}`],
          { NODE_OPTIONS: `--import=${ROUND_TRIP_COUNTER}`, BGTASKS_BENCH_PG_COUNT_DIR: countDir },
        ),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') systems.push(result.value);
    for (const result of started) if (result.status === 'rejected') throw result.reason;
    systems.forEach((system, i) =>
      [system.daemon.stdout!, system.daemon.stderr!].forEach((stream) =>
        collectWarnings(stream, `node-${i + 1}`, warnings),
      ),
    );
    await Promise.all(systems.map((system) => system.cli('conditions', 'set', 'power=battery')));
    const apps = await Promise.all(systems.map((system) => system.startApp()));
    const { ms } = await apps[0]!.request<{ ms: number }>(
      { op: 'submit', n, requiresExternalPower: true, placement: 'any' },
      'submitted',
    );
    // Every request back in the pool, held by no node; then a heartbeat more, so node-1 may claim again
    // what it gave back (it skips those for a heartbeat).
    await untilAsync(
      async () =>
        (await count(
          `SELECT count(*) AS n FROM ${schema}.requests WHERE node_id IS NULL AND ` + `lease_owner IS NULL`,
        )) >= n,
      20,
    );
    await sleep(HEARTBEAT_MS + 100);

    await sleep(150); // the counters' files are written every 100 ms
    const tripsBefore = roundTrips();
    const cpuBefore = serverCpuMs();
    const t0 = performance.now();
    await Promise.all(systems.map((system) => system.cli('conditions', 'set', 'power=ac')));
    // Two phases, so the finish line does not load the machine it measures: the runs' identity sequence
    // (one read, no scan) until N runs exist, then the exact count of finished runs.
    let takeover: Takeover | undefined;
    if (kill) {
      takeover = await killLastNode(db, schema, systems.at(-1)!, `node-${nodes}`, Math.ceil(n / 3), n, concurrency);
    } else {
      await untilAsync(
        async () =>
          (await count(
            `SELECT coalesce(last_value, 0) AS n FROM pg_sequences WHERE schemaname = ` +
              `'${schema}' AND sequencename = 'runs_seq_seq'`,
          )) >= n,
        10,
      );
      await untilAsync(
        async () => (await count(`SELECT count(*) AS n FROM ${schema}.runs WHERE state = 'finished'`)) >= n,
        2,
      );
    }
    const elapsed = performance.now() - t0;
    await sleep(150);
    const roundTripsPerTask = (roundTrips() - tripsBefore) / n;
    const cpuAfter = serverCpuMs();
    const serverCpuMsPerTask = cpuBefore === null || cpuAfter === null ? null : (cpuAfter - cpuBefore) / n;

    const { rows } = await db.query<{ node_id: string; runs: number; unsuccessful: number }>(
      `SELECT node_id, count(*)::int AS runs, (count(*) FILTER (WHERE outcome IS ` +
        `DISTINCT FROM 'success'))::int AS unsuccessful FROM ${schema}.runs WHERE ` +
        `state = 'finished' GROUP BY node_id ORDER BY node_id`,
    );
    // A killed node's cut-off runs are not extra: they ran again because they were in hand (takeover).
    const extraRuns = await count(
      `SELECT count(*) - count(DISTINCT identifier) AS n FROM ${schema}.runs WHERE ` +
        `reason IS DISTINCT FROM 'nodeLost'`,
    );
    const { rows: settings } = await db.query<{ sc: string; fsync: string }>(
      "SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') " + 'AS fsync',
    );
    const perNode = Object.fromEntries(
      systems.map((_, i) => [`node-${i + 1}`, rows.find((row) => row.node_id === `node-${i + 1}`)?.runs ?? 0]),
    );
    const slots = `${nodes} × ${concurrency} slots`;
    return {
      peer: `bgtasks fleet, ${nodes} node${nodes === 1 ? '' : 's'}${kill ? `, node-${nodes} SIGKILLed mid-run` : ''}`,
      version: `(${slots})`,
      config:
        `${nodes} daemon process(es) on one PostgreSQL schema + the bench app ` +
        `connected on each, profile server, maxConcurrentTasks ${concurrency} per ` +
        `node (${slots}, ${nodes * concurrency} in all), maxPendingProcessingPerApp ` +
        `${n + 1_000}; requests placement 'any' from node-1's app, all nodes flipped ` +
        `battery → AC in parallel; timed until the store holds ${n} finished runs; ` +
        `round trips to PostgreSQL per task ${roundTripsPerTask.toFixed(2)}; ` +
        `PostgreSQL CPU per task ${serverCpuMsPerTask === null ? 'n/a' : `${serverCpuMsPerTask.toFixed(3)} ms`}; ` +
        `finished per node: ${Object.entries(perNode)
          .map(([node, runs]) => `${node} ${runs}`)
          .join(', ')}`,
      durability: `PostgreSQL synchronous_commit=${settings[0]!.sc}, fsync=${settings[0]!.fsync}`,
      n,
      concurrency,
      enqueuePerSec: Math.round((n * 1000) / ms),
      processPerSec: Math.round((n * 1000) / elapsed),
      nodes,
      perNode,
      extraRuns,
      unsuccessful: await count(
        `SELECT count(*) AS n FROM ${schema}.runs WHERE state = 'finished' AND ` +
          `outcome IS DISTINCT FROM 'success' AND reason IS DISTINCT FROM 'nodeLost'`,
      ),
      roundTripsPerTask,
      serverCpuMsPerTask,
      ...(takeover ? { takeover } : {}),
      warnings: [...warnings].map(([message, times]) => (times > 1 ? `${message} (×${times})` : message)),
    };
  } finally {
    // Apps and daemons first (a daemon leaves the fleet as it stops), newest first; then the schema.
    for (const system of systems.reverse()) {
      try {
        await system[Symbol.asyncDispose]();
      } catch (error) {
        console.warn(`fleet bench: stopping a node failed: ${String(error)}`);
      }
    }
    await db.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => db.end());
    rmSync(countDir, { recursive: true, force: true });
  }
}

/**
 * CPU ms used so far by the PostgreSQL server: every `postgres` process's own time and, for the
 * postmaster, that of its ended children (backends come and go). Linux only; null elsewhere.
 */
function serverCpuMs(): number | null {
  if (process.platform !== 'linux') return null;
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    if (!stat.includes('(postgres)')) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks * 10; // USER_HZ is 100 on Linux
}

/**
 * Kills `system`'s daemon (SIGKILL) once `after` runs exist, notes what it had in hand, and waits until
 * `n` tasks have succeeded; then reads when the work in hand started on the other nodes.
 */
async function killLastNode(
  db: pg.Client,
  schema: string,
  system: BenchSystem,
  nodeId: string,
  after: number,
  n: number,
  slots: number,
): Promise<Takeover> {
  const count = async (sql: string, params: unknown[] = []): Promise<number> =>
    Number((await db.query<{ n: string }>(sql, params)).rows[0]!.n);
  await untilAsync(
    async () =>
      (await count(
        `SELECT coalesce(last_value, 0) AS n FROM pg_sequences WHERE schemaname = ` +
          `'${schema}' AND sequencename = 'runs_seq_seq'`,
      )) >= after,
    5,
  );
  // Killed with work in hand: a node between two claims holds nothing, and its death would show nothing.
  // No-op tasks are in hand for a round trip or two, so wait for a block just handed out (half its
  // slots), or for the run's end to near (then the kill may find little, and the report says so).
  await untilAsync(async () => {
    const { rows } = await db.query<{ active: string; done: string }>(
      `SELECT (SELECT count(*) FROM ${schema}.runs WHERE node_id = $1 AND state <> 'finished') AS active,
              (SELECT coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = $2 AND sequencename = 'runs_seq_seq') AS done`,
      [nodeId, schema],
    );
    return Number(rows[0]!.active) >= Math.ceil(slots / 2) || Number(rows[0]!.done) >= n * 0.9;
  }, 1);
  system.daemon.kill('SIGKILL');
  const killedAt = Date.now();
  await new Promise((resolve) =>
    system.daemon.exitCode !== null || system.daemon.signalCode !== null
      ? resolve(null)
      : system.daemon.once('exit', resolve),
  );
  // Read after the process is gone: nothing of it can change any more.
  const { rows: held } = await db.query<{ identifier: string }>(
    `SELECT identifier FROM ${schema}.requests WHERE node_id IS NULL AND lease_owner = $1
     UNION SELECT identifier FROM ${schema}.runs WHERE node_id = $1 AND state <> 'finished'`,
    [nodeId],
  );
  const inHand = held.map((row) => row.identifier);
  await untilAsync(
    async () =>
      (await count(`SELECT count(DISTINCT identifier) AS n FROM ${schema}.runs WHERE outcome = ` + `'success'`)) >= n,
    20,
  );
  const lastStart = await count(
    `SELECT coalesce(max(first_start), 0) AS n FROM (SELECT min(coalesce(started_at, launched_at)) AS first_start FROM ${schema}.runs
     WHERE identifier = ANY($1::text[]) AND node_id <> $2 GROUP BY identifier) s`,
    [inHand, nodeId],
  );
  const { rows: twice } = await db.query<{ identifier: string }>(
    `SELECT identifier FROM ${schema}.runs WHERE started_at IS NOT NULL GROUP BY identifier HAVING count(*) > 1`,
  );
  const inHandSet = new Set(inHand);
  return {
    inHand: inHand.length,
    lastStartedAfterMs: inHand.length === 0 ? 0 : lastStart - killedAt,
    ranTwice: twice.length,
    ranTwiceNotInHand: twice.filter((row) => !inHandSet.has(row.identifier)).length,
  };
}

/** Keeps the daemon's log lines at warn or above (pino levels 40+), but not its sensors' start-up notices. */
function collectWarnings(stream: Readable, node: string, into: Map<string, number>): void {
  let partial = '';
  stream.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      let entry: { level?: number; msg?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        entry = { level: 50, msg: line };
      }
      if ((entry.level ?? 0) < 40 || !entry.msg || entry.msg.startsWith('sensors:')) continue;
      const key = `${node}: ${entry.msg}`;
      into.set(key, (into.get(key) ?? 0) + 1);
    }
  });
}

async function untilAsync(probe: () => Promise<boolean>, everyMs: number, guardMs = 600_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('a fleet benchmark did not finish within its guard');
    await sleep(everyMs);
  }
}
