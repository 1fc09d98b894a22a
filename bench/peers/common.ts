/** Small helpers the peer drivers share: versions, rates, batching, a throwaway PostgreSQL database. */
import { readFileSync } from 'node:fs';
import pg from 'pg';

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';
export const pgUrl = (database: string): string => `postgres://postgres@127.0.0.1:5432/${database}`;

/** The installed version, read from bench/node_modules (the peers' own npm project). */
export function installedVersion(pkg: string): string {
  const url = new URL(`../node_modules/${pkg}/package.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}

export const perSec = (count: number, ms: number): number => Math.round((count / ms) * 1000);

/** Enqueue in batches of 1,000 (the bulk size our own benchmark uses). */
export function* batches(n: number, size = 1_000): Generator<number> {
  for (let done = 0; done < n; done += size) yield Math.min(size, n - done);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `count` calls of `tick` have happened: the handlers' shared finish line. */
export function counter(count: number): { tick: () => void; done: Promise<void> } {
  let seen = 0;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  return {
    tick: () => {
      if (++seen === count) resolveDone();
    },
    done,
  };
}

/**
 * Runs `fn` against a fresh database of its own and drops it afterwards, so a run leaves nothing behind
 * and never touches another run's data. Also describes the server's commit durability for `durability`.
 */
export async function withDatabase<T>(name: string, fn: (url: string, durability: string) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
    const { rows } = await admin.query<{ sc: string; fsync: string }>(
      "SELECT current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync",
    );
    try {
      return await fn(pgUrl(name), `PostgreSQL synchronous_commit=${rows[0]!.sc}, fsync=${rows[0]!.fsync}`);
    } finally {
      // Some libraries end their pools without waiting for the sockets to close; give them a moment so
      // the drop does not kill a connection that an idle pool would then report as an uncaught error.
      for (let waited = 0; ; waited += 20) {
        const open = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
        if (open.rows[0].n === 0) break;
        if (waited >= 5_000) {
          console.warn(`${name}: ${open.rows[0].n} connection(s) still open after the run; dropping anyway`);
          break;
        }
        await sleep(20);
      }
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
