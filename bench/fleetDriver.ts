/**
 * The fleet rows of the throughput benchmark alone, beside the PostgreSQL peers, at one concurrency:
 * for iterating on fleet mode without the 100,000-task SQLite rows. Not part of `npm run bench`.
 *
 *   npm run build && node --import tsx bench/fleetDriver.ts [N] [C] [nodes,… (3k: kill the last)] [peers:
 * pg-boss,graphile-worker]
 */
import * as graphile from './peers/graphile.js';
import * as pgboss from './peers/pgboss.js';
import { runFleet } from './support/fleet.js';

const [n = 3_000, concurrency = 50] = process.argv.slice(2, 4).map(Number);
const nodes = (process.argv[4] ?? '1,3').split(',').filter(Boolean);
const peers = (process.argv[5] ?? 'pg-boss,graphile-worker').split(',').filter(Boolean);
const runners: Record<string, typeof pgboss.runThroughput> = {
  'pg-boss': pgboss.runThroughput,
  'graphile-worker': graphile.runThroughput,
};
for (const spec of nodes) {
  // `3k`: three nodes, the last SIGKILLed a third of the way in.
  const kill = String(spec).endsWith('k');
  const result = await runFleet({ n, concurrency, nodes: Number.parseInt(String(spec), 10), kill });
  console.log(
    JSON.stringify({
      peer: result.peer,
      kill,
      n,
      concurrency,
      processPerSec: result.processPerSec,
      roundTripsPerTask: result.roundTripsPerTask.toFixed(2),
      serverCpuMsPerTask: result.serverCpuMsPerTask?.toFixed(3),
      perNode: result.perNode,
      extraRuns: result.extraRuns,
      unsuccessful: result.unsuccessful,
      takeover: result.takeover,
      warnings: result.warnings.slice(0, 5),
    }),
  );
}
for (const name of peers) {
  const result = await runners[name]!({ n: name === 'pg-boss' ? Math.min(n, 10_000) : n, concurrency });
  console.log(
    JSON.stringify({
      peer: result.peer,
      version: result.version,
      n: result.n,
      concurrency,
      processPerSec: result.processPerSec,
    }),
  );
}
