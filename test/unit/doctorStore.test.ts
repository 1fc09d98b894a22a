/**
 * The doctor's store check (src/cli/doctor/storeCheck.ts) on real stores: SQLite files made by the real
 * store (then left alone, damaged, or marked newer), the previous release's fixture, and PostgreSQL at
 * 127.0.0.1:5432 in schemas of its own (dropped afterwards). It must read without changing a byte.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeSync,
  closeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { checkStore, type StoreCheckOptions } from '../../src/cli/doctor/storeCheck.js';
import type { Check } from '../../src/cli/doctor/checks.js';
import type { AppRecord } from '../../src/engine/types.js';
import { openStore } from '../../src/store/index.js';
import { LATEST_SCHEMA_VERSION } from '../../src/store/sqlite/migrations/index.js';
import { PostgresStore } from '../../src/store/postgres/postgresStore.js';

const base = mkdtempSync(join(tmpdir(), 'bgt-doctor-store-'));
after(() => rmSync(base, { recursive: true, force: true }));

const APP: AppRecord = {
  appId: 'com.example.feeds',
  dir: '/srv/feeds',
  launch: ['/usr/bin/node', 'main.mjs'],
  permittedIdentifiers: ['com.example.feeds.refresh'],
  backgroundModes: ['fetch'],
  enabled: true,
  credentialHash: 'a'.repeat(64),
  installedAt: 1_700_000_000_000,
};

let files = 0;
/** A store written by the real SQLite store, migrated, holding one app and many events, then closed. */
async function realStore(events = 0): Promise<string> {
  const file = join(base, `store-${files++}.sqlite`);
  const store = openStore(file);
  await store.migrate();
  await store.apply({ putApps: [APP], settings: { 'conditions.overrides': { power: 'battery' } } });
  for (let i = 0; i < events; i += 100) {
    await store.apply({
      events: Array.from({ length: 100 }, (_, j) => ({
        at: 1_700_000_000_000 + i + j,
        appId: APP.appId,
        identifier: null,
        taskId: null,
        type: 'installed' as const,
        reason: null,
        detail: { padding: 'x'.repeat(200) },
      })),
    });
  }
  await store.close();
  return file;
}

function options(location: string, more: Partial<StoreCheckOptions> = {}): StoreCheckOptions {
  return { location, source: 'the test', nodeId: null, daemon: null, wantApps: true, timeoutMs: 5000, ...more };
}

function line(checks: readonly Check[], id: string): Check {
  const found = checks.find((check) => check.id === id);
  assert.ok(found, `no ${id} among ${checks.map((check) => `${check.id}=${check.status}`).join(', ')}`);
  return found;
}

function digest(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

describe('doctor storeCheck: SQLite', () => {
  it('passes a healthy store, lists its apps and overrides, and leaves no trace', async () => {
    const file = await realStore();
    const before = { bytes: digest(file), names: readdirSync(base).sort() };
    const result = await checkStore(options(file));
    assert.deepEqual(
      result.checks.filter((check) => check.status !== 'ok'),
      [],
    );
    assert.match(
      line(result.checks, 'store.schema').detail,
      new RegExp(`schema version ${LATEST_SCHEMA_VERSION} \\(the latest\\)`),
    );
    assert.equal(line(result.checks, 'store.integrity').detail, 'PRAGMA quick_check: ok');
    assert.deepEqual(
      result.apps?.map((app) => app.appId),
      [APP.appId],
    );
    assert.deepEqual(result.overrides, { power: 'battery' });
    assert.equal(digest(file), before.bytes, 'not a byte changed');
    assert.deepEqual(readdirSync(base).sort(), before.names, 'no -wal or -shm left behind');
  });

  it('reads a store a daemon holds open in place, beside its write-ahead log', async () => {
    const file = await realStore();
    const holder = openStore(file); // the daemon's connection: WAL mode, -wal and -shm exist
    try {
      await holder.migrate();
      assert.ok(existsSync(`${file}-wal`));
      const result = await checkStore(options(file));
      assert.match(line(result.checks, 'store.open').detail, /in place/);
      assert.equal(line(result.checks, 'store.integrity').status, 'ok');
      assert.equal(result.apps?.length, 1);
    } finally {
      await holder.close();
    }
  });

  it('fails a store whose pages were overwritten with garbage, with the way to recover', async () => {
    const file = await realStore(2000);
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(64 * 1024), 0, 64 * 1024, 8192); // past the header and the schema page
    closeSync(fd);
    const result = await checkStore(options(file));
    const integrity = line(result.checks, 'store.integrity');
    assert.equal(integrity.status, 'fail');
    assert.match(integrity.detail, /is damaged/);
    assert.match(integrity.fix!, /\.recover/);
  });

  it('fails a file that is not a database at all', async () => {
    const file = await realStore();
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    closeSync(fd);
    const result = await checkStore(options(file));
    assert.equal(line(result.checks, 'store.open').status, 'fail');
    assert.equal(result.apps, undefined);
    assert.match(result.appsError!, /cannot be opened/);
  });

  it('fails a store written by a newer bgtasks: upgrade', async () => {
    const file = await realStore();
    const raw = new Database(file);
    raw
      .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(LATEST_SCHEMA_VERSION + 1, 'from_the_future', 1);
    raw.close();
    const result = await checkStore(options(file));
    const schema = line(result.checks, 'store.schema');
    assert.equal(schema.status, 'fail');
    assert.match(schema.detail, /newer than this bgtasks knows/);
    assert.match(schema.fix!, /upgrade bgtasks/);
    assert.equal(result.apps, undefined, 'a newer schema is not read for apps');
  });

  it("says an older store (the previous release's) will be migrated at the next start", async () => {
    const file = join(base, 'release4.sqlite');
    copyFileSync(new URL('../fixtures/stores/release-0.1.0-schema4.sqlite', import.meta.url), file);
    const result = await checkStore(options(file));
    const schema = line(result.checks, 'store.schema');
    assert.equal(schema.status, 'ok');
    assert.match(schema.detail, /version 4, older .* migrated at the next daemon start/);
  });

  it('warns when there is no store yet, and fails when a daemon runs without it', async () => {
    const missing = join(base, 'nothing-here.sqlite');
    const result = await checkStore(options(missing));
    assert.equal(line(result.checks, 'store.file').status, 'warn');
    assert.deepEqual(result.apps, []);
    const withDaemon = await checkStore(
      options(missing, {
        daemon: { version: '0', pid: 1, home: base, store: { kind: 'sqlite', location: missing, fault: null } },
      }),
    );
    assert.equal(line(withDaemon.checks, 'store.file').status, 'fail');
    assert.ok(!existsSync(missing), 'the doctor creates no store');
  });

  it("judges the free space of the store's filesystem against its thresholds", async () => {
    const file = await realStore();
    const huge = Number.MAX_SAFE_INTEGER;
    assert.equal(line((await checkStore(options(file))).checks, 'store.disk').status, 'ok');
    assert.equal(
      line(
        (await checkStore(options(file, { disk: { warnBelowBytes: huge, failBelowBytes: 0 } }))).checks,
        'store.disk',
      ).status,
      'warn',
    );
    const failing = line(
      (await checkStore(options(file, { disk: { warnBelowBytes: huge, failBelowBytes: huge } }))).checks,
      'store.disk',
    );
    assert.equal(failing.status, 'fail');
    assert.match(failing.fix!, /df -h/);
  });

  it('reports a storage fault the running daemon has', async () => {
    const file = await realStore();
    const result = await checkStore(
      options(file, {
        wantApps: false,
        daemon: {
          version: '0',
          pid: 1,
          home: base,
          store: { kind: 'sqlite', location: file, fault: { code: 'storeFull', since: 0 } },
        },
      }),
    );
    const writable = line(result.checks, 'store.writable');
    assert.equal(writable.status, 'fail');
    assert.match(writable.detail, /storeFull/);
  });
});

describe('doctor storeCheck: PostgreSQL', () => {
  const SERVER = 'postgres://postgres@127.0.0.1:5432/test';
  const schemas: string[] = [];
  const fresh = (): string => {
    const schema = `bgtasks_doctor_${randomBytes(5).toString('hex')}`;
    schemas.push(schema);
    return schema;
  };
  after(async () => {
    const admin = new pg.Client({ connectionString: SERVER });
    await admin.connect();
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  });

  it('passes a migrated store with this node alive in the fleet, and reads its apps', async () => {
    const url = `${SERVER}?schema=${fresh()}`;
    const now = Date.now();
    await using store = new PostgresStore({ url, nodeId: 'node-a' });
    await store.migrate();
    await store.apply({ putApps: [APP] });
    await store.fleet.join(
      {
        conditions: { online: true, unmetered: true, externalPower: true, lowPowerMode: false, thermal: 'nominal' },
        apps: [],
        capacity: { maxConcurrentTasks: 1, running: 0 },
      },
      { hostname: 'h', version: '0.1.0' },
      now,
      60_000,
    );
    const result = await checkStore(options(url, { nodeId: 'node-a', now }));
    assert.deepEqual(
      result.checks.filter((check) => check.status !== 'ok'),
      [],
    );
    assert.match(line(result.checks, 'store.node').detail, /node node-a is alive/);
    assert.deepEqual(
      result.apps?.map((app) => app.appId),
      [APP.appId],
    );
    const lapsed = await checkStore(options(url, { nodeId: 'node-a', now: now + 120_000 }));
    assert.equal(line(lapsed.checks, 'store.node').status, 'warn');
  });

  it('warns on an empty schema and on an unknown node id', async () => {
    const empty = await checkStore(options(`${SERVER}?schema=${fresh()}`));
    assert.equal(line(empty.checks, 'store.schema').status, 'warn');
    const url = `${SERVER}?schema=${fresh()}`;
    await using store = new PostgresStore({ url, nodeId: 'node-b' });
    await store.migrate();
    const unknownNode = await checkStore(options(url));
    assert.equal(line(unknownNode.checks, 'store.node').status, 'warn');
    assert.match(unknownNode.appsError!, /--node-id/);
  });

  it('fails when the server cannot be reached', async () => {
    const result = await checkStore(
      options('postgres://postgres@127.0.0.1:1/test?schema=nothing', { timeoutMs: 3000 }),
    );
    const connect = line(result.checks, 'store.connect');
    assert.equal(connect.status, 'fail');
    assert.match(connect.fix!, /--store/);
  });
});
