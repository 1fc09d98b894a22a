/**
 * Preloaded into the fleet benchmark's daemons (`node --import`): counts the daemon's round trips to
 * PostgreSQL. node-postgres sends one query at a time per connection and waits for its answer, so
 * every `Client#query` call is one round trip (BEGIN and COMMIT included). The count is written to
 * `$BGTASKS_BENCH_PG_COUNT_DIR/<pid>` every 100 ms and at exit (once there is one), for the benchmark to
 * sum before and after. Processes the daemon launches inherit the preload; they make no queries.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const dir = process.env.BGTASKS_BENCH_PG_COUNT_DIR;
if (dir) {
  const file = join(dir, String(process.pid));
  // The package's own pg (the daemon's), not bench/node_modules' copy.
  const pg = createRequire(new URL('../../package.json', import.meta.url))('pg');
  const query = pg.Client.prototype.query;
  let count = 0;
  pg.Client.prototype.query = function countedQuery(...args) {
    count += 1;
    return query.apply(this, args);
  };
  // Written aside, then renamed: the benchmark reading it mid-write must not see a truncated count.
  const write = () => {
    if (count === 0) return;
    writeFileSync(`${file}.tmp`, String(count));
    renameSync(`${file}.tmp`, file);
  };
  setInterval(write, 100).unref();
  process.on('exit', write);
}
