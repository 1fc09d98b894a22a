import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { ROOT, TestHome, run, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * A chain of tasks whose steps run on different nodes of a fleet (docs/workflows.md): two daemons share
 * one PostgreSQL schema; node 1 is on battery, node 2 on power. The chain app on node 1 submits export
 * (placement 'any', needs power) -> convert -> upload (both on node 1): node 2 runs the export, node 1
 * sees its result in the shared store and runs the rest, each step with the result before it.
 */
const CHAIN_APP = join(ROOT, 'test', 'fixtures', 'apps', 'chain');
const SCHEMA = `bgtasks_chain_${process.pid}_${Date.now().toString(36)}`;
const URL = `postgres://postgres@127.0.0.1:5432/test?schema=${SCHEMA}`;
const FLEET_OPTIONS = [
  '--store',
  URL,
  '--fleet-option',
  'heartbeatMs=200',
  '--fleet-option',
  'leaseMs=2000',
  '--fleet-option',
  'maintenanceMs=200',
  // A prerequisite another node ran is seen at the next pass: a short sleep keeps the test short.
  '--option',
  'profile=server',
  '--option',
  'maxSleepMs=1000',
];

interface Handled {
  readonly event: string;
  readonly identifier?: string;
  readonly prerequisites?: Record<string, unknown>;
}

describe('workflows in a fleet: a chain across two nodes', () => {
  const homes = [new TestHome(), new TestHome()];
  const daemons: (DaemonProcess | undefined)[] = [];
  const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });

  before(async () => {
    await db.connect();
    for (const [i, home] of homes.entries()) {
      daemons[i] = await home.startDaemon([...FLEET_OPTIONS, '--node-id', `node-${i + 1}`, '--no-http']);
      assert.equal((await home.cli('install', CHAIN_APP)).code, 0);
      // Nothing holds the convert step here.
      writeFileSync(join(home.probeDir, 'release'), '');
    }
    assert.equal((await homes[0]!.cli('conditions', 'set', 'power=battery', 'batteryLevel=80')).code, 0);
  });

  after(async () => {
    for (const daemon of daemons) await daemon?.[Symbol.asyncDispose]();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
    await db.end();
    for (const home of homes) home.cleanup();
  });

  const handled = (node: number, identifier: string): Handled[] =>
    (homes[node]!.probeEvents() as unknown as Handled[]).filter(
      (event) => event.event === 'handler' && event.identifier === identifier,
    );

  it("runs the export on node 2 and the steps after it on node 1, with the export's result", async () => {
    const submitted = await run(process.execPath, ['main.mjs', 'submitFleet'], {
      cwd: CHAIN_APP,
      env: { BGTASKS_HOME: homes[0]!.home, PROBE_DIR: homes[0]!.probeDir },
    });
    assert.deepEqual(JSON.parse(submitted.stdout), [{ ok: true }, { ok: true }, { ok: true }], submitted.stderr);
    await until('the upload step to run on node 1', () =>
      handled(0, 'com.test.chain.upload').length > 0 ? true : undefined,
    );
    assert.equal(handled(0, 'com.test.chain.export').length, 0, 'node 1 (on battery) did not run the export');
    assert.equal(handled(1, 'com.test.chain.export').length, 1, 'node 2 ran the export');
    assert.deepEqual(
      handled(0, 'com.test.chain.convert').map((event) => event.prerequisites),
      [{ 'com.test.chain.export': { exported: 'report.zip' } }],
    );
    assert.deepEqual(
      handled(0, 'com.test.chain.upload').map((event) => event.prerequisites),
      [{ 'com.test.chain.convert': { converted: 'report.zip.pdf' } }],
    );
    const rows = await until('the upload run to be recorded', async () => {
      const { rows: found } = await db.query<{ identifier: string; node_id: string; outcome: string | null }>(
        `SELECT identifier, node_id, outcome FROM ${SCHEMA}.runs WHERE outcome = 'success' ORDER BY seq`,
      );
      return found.length === 3 ? found : undefined;
    });
    assert.deepEqual(
      rows.map((row) => [row.identifier, row.node_id]),
      [
        ['com.test.chain.export', 'node-2'],
        ['com.test.chain.convert', 'node-1'],
        ['com.test.chain.upload', 'node-1'],
      ],
    );
  });
});
