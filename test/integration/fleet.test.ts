import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CHAOS_APP_DIR } from '../support/chaos.js';
import { browserSkip, launchBrowser } from '../support/browser.js';
import { run, TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Fleet mode for real: three daemons (three homes, as three machines would have) share one schema of
 * the PostgreSQL that runs on this machine and in CI. The chaos app, installed on all three, submits
 * requests with placement 'any' from node 1; they spread over the nodes; node 3 is killed with SIGKILL
 * while it runs some; its tasks finish on the others. Checked straight in the database: every
 * acknowledged request succeeded exactly once, nothing ran after its success, the cut-off runs are
 * recorded `interrupted` (reason `nodeLost`) and ran again elsewhere. Lease and heartbeat are shortened
 * so a lost node is noticed within a few seconds; the waits are polls with guards, never timings.
 */
const TASKS = 150;
/** The apps the daemons launch inherit this: their handlers work up to 1.5 s, so a kill finds work in hand. */
const APP_ENV = { CHAOS_WORK_MS: '1500' };
const SCHEMA = `bgtasks_fleet_${process.pid}_${Date.now().toString(36)}`;
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
  '--option',
  'profile=server',
  '--option',
  `maxPendingProcessingPerApp=${TASKS + 50}`,
  '--option',
  'maxConcurrentTasksPerApp=4',
];

/** The processes (this user's) whose environment names this home: the apps a node's daemon launched. */
function processesOf(home: string): number[] {
  const marker = `BGTASKS_HOME=${home}\0`;
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry) && Number(entry) !== process.pid)
    .filter((pid) => {
      try {
        return `${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(marker);
      } catch {
        return false; // gone, or another user's
      }
    })
    .map(Number);
}

interface RunRow {
  task_id: string;
  node_id: string;
  identifier: string;
  state: string;
  outcome: string | null;
  reason: string | null;
  started_at: string | null;
  completed_at: string | null;
}

describe('fleet: three daemons on one PostgreSQL', () => {
  const homes = [new TestHome(), new TestHome(), new TestHome()];
  const daemons: (DaemonProcess | undefined)[] = [];
  const db = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });

  before(async () => {
    await db.connect();
    for (const [i, home] of homes.entries()) {
      daemons[i] = await home.startDaemon(
        [...FLEET_OPTIONS, '--node-id', `node-${i + 1}`, ...(i === 0 ? [] : ['--no-http'])],
        APP_ENV,
      );
      const installed = await home.cli('install', CHAOS_APP_DIR);
      assert.equal(installed.code, 0, installed.stderr);
    }
  });

  after(async () => {
    for (const daemon of daemons) await daemon?.[Symbol.asyncDispose]();
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => undefined);
    await db.end();
    for (const home of homes) home.cleanup();
  });

  const runs = async (): Promise<RunRow[]> =>
    (
      await db.query<RunRow>(
        `SELECT task_id, node_id, identifier, state, outcome, reason, started_at, ` +
          `completed_at FROM ${SCHEMA}.runs ORDER BY seq`,
      )
    ).rows;

  it('every node sees the other two', async () => {
    const nodes = await until('three live nodes', async () => {
      const listed = (await homes[1]!.cli('nodes', '--json')).json<{ nodeId: string; alive: boolean }[]>();
      return listed.filter((node) => node.alive).length === 3 ? listed : undefined;
    });
    assert.deepEqual(nodes.map((node) => node.nodeId).sort(), ['node-1', 'node-2', 'node-3']);
  });

  it("a 'device' request runs only on the node that submitted it", async () => {
    const submitted = await run(process.execPath, ['main.mjs', 'one', 'com.test.chaos.job.here'], {
      cwd: CHAOS_APP_DIR,
      env: { BGTASKS_HOME: homes[1]!.home, PROBE_DIR: homes[1]!.probeDir },
    });
    assert.equal(submitted.code, 0, submitted.stderr);
    const done = await until('the device request to succeed', async () =>
      (await runs()).find((row) => row.identifier === 'com.test.chaos.job.here' && row.outcome === 'success'),
    );
    assert.equal(done.node_id, 'node-2');
  });

  it(
    "'any' requests spread over the nodes; a node killed mid-task loses nothing " + 'and no success runs twice',
    async () => {
      const submitter = run(process.execPath, ['main.mjs', 'submit', '0', String(TASKS)], {
        cwd: CHAOS_APP_DIR,
        env: {
          BGTASKS_HOME: homes[0]!.home,
          PROBE_DIR: homes[0]!.probeDir,
          CHAOS_PLACEMENT: 'any',
          CHAOS_WORK_MS: '1500',
          CHAOS_PACE_MS: '40',
        },
      });
      // Kill node 3 while it runs pool work: its runs must be taken over by the others.
      await until('node 3 to be running pool tasks', async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${SCHEMA}.runs WHERE node_id = 'node-3' AND state ` +
            `= 'running' AND started_at IS NOT NULL AND placement = 'any'`,
        );
        return Number(rows[0]!.n) >= 2 ? true : undefined;
      });
      await daemons[2]!.kill('SIGKILL');
      const cutOff = (await runs())
        .filter((row) => row.node_id === 'node-3' && row.state !== 'finished')
        .map((row) => row.task_id);
      assert.ok(
        cutOff.length >= 1,
        `the kill cut off running tasks (node 3's runs: ` +
          `${JSON.stringify((await runs()).filter((row) => row.node_id === 'node-3'))})`,
      );
      assert.equal((await submitter).code, 0);

      const acked = readFileSync(join(homes[0]!.probeDir, 'acked.log'), 'utf8').split('\n').filter(Boolean);
      assert.equal(acked.length, TASKS, 'every submission was acknowledged (node 1 stayed up)');
      const final = await until(
        'every acknowledged request to succeed',
        async () => {
          const rows = await runs();
          const succeeded = new Set(rows.filter((row) => row.outcome === 'success').map((row) => row.identifier));
          return acked.every((identifier) => succeeded.has(identifier)) ? rows : undefined;
        },
        120_000,
      );

      const byIdentifier = new Map<string, RunRow[]>();
      for (const row of final) byIdentifier.set(row.identifier, [...(byIdentifier.get(row.identifier) ?? []), row]);
      const twice = acked.filter(
        (identifier) => byIdentifier.get(identifier)!.filter((row) => row.outcome === 'success').length !== 1,
      );
      assert.deepEqual(twice, [], 'each acknowledged request succeeded exactly once');
      const afterSuccess = acked.filter((identifier) => {
        const rows = byIdentifier.get(identifier)!;
        const success = rows.find((row) => row.outcome === 'success')!;
        return rows.some(
          (row) => row !== success && row.started_at !== null && Number(row.started_at) > Number(success.completed_at),
        );
      });
      assert.deepEqual(afterSuccess, [], 'no request ran again after it succeeded');

      const cut = final.filter((row) => cutOff.includes(row.task_id));
      assert.ok(
        cut.every((row) => row.state === 'finished' && row.outcome === 'interrupted' && row.reason === 'nodeLost'),
        JSON.stringify(cut),
      );
      for (const row of cut) {
        const rerun = byIdentifier.get(row.identifier)!.find((other) => other.outcome === 'success');
        assert.ok(rerun && rerun.node_id !== 'node-3', `${row.identifier} cut off on node 3 succeeded on another node`);
      }
      const nodesThatRan = new Set(final.filter((row) => acked.includes(row.identifier)).map((row) => row.node_id));
      assert.deepEqual(
        [...nodesThatRan].sort(),
        ['node-1', 'node-2', 'node-3'],
        'the pool work spread over all three nodes',
      );
      // A task handed to the submitting process as it exits, before its handler began, is put back
      // (`exitedBeforeStart`) and runs later: that is not a loss, and it never ran.
      const others = final
        .filter(
          (row) =>
            acked.includes(row.identifier) &&
            row.state === 'finished' &&
            row.outcome !== 'success' &&
            !cutOff.includes(row.task_id),
        )
        .filter((row) => !(row.reason === 'exitedBeforeStart' && row.started_at === null));
      assert.deepEqual(
        others.map((row) => `${row.identifier} ${row.outcome} ${row.reason}`),
        [],
        'no other outcomes',
      );
      const { rows: pool } = await db.query(`SELECT request_id FROM ${SCHEMA}.requests WHERE node_id IS NULL`);
      assert.deepEqual(pool, [], 'the pool is empty');
      // Issue 17 item 3: a task ran twice only if it was in hand on the killed node when it died.
      const cutIdentifiers = new Set(cut.map((row) => row.identifier));
      const ranTwice = acked.filter(
        (identifier) => byIdentifier.get(identifier)!.filter((row) => row.started_at !== null).length > 1,
      );
      assert.deepEqual(
        ranTwice.filter((identifier) => !cutIdentifiers.has(identifier)),
        [],
        'only tasks in hand on the killed node ran twice',
      );
      // The apps node 3 launched saw their daemon go: their tasks were aborted and they end (src/sdk/orphanGuard.ts).
      await until("node 3's apps to end", async () => (processesOf(homes[2]!.home).length === 0 ? true : undefined));
      console.log(
        `fleet: ${JSON.stringify({ tasks: TASKS, runs: final.length, cutOff: cutOff.length, byNode: Object.fromEntries(['node-1', 'node-2', 'node-3'].map((node) => [node, final.filter((row) => row.node_id === node && row.outcome === 'success').length])) })}`,
      );
    },
  );

  it('the fleet views show every node and which node ran what', async (t) => {
    const nodes = (await homes[0]!.cli('nodes', '--json')).json<{ nodeId: string; alive: boolean }[]>();
    assert.deepEqual(nodes.map((node) => [node.nodeId, node.alive]).sort(), [
      ['node-1', true],
      ['node-2', true],
      ['node-3', false],
    ]);
    const history = await homes[1]!.cli('history', '--fleet', '--limit', '1000', '--json');
    assert.equal(history.code, 0, history.stderr);
    const ran = new Set(history.json<{ nodeId: string }[]>().map((row) => row.nodeId));
    assert.deepEqual([...ran].sort(), ['node-1', 'node-2', 'node-3']);
    const table = await homes[1]!.cli('history', '--fleet', '--node', 'node-3');
    assert.match(table.stdout, /node-3/);
    const why = await homes[0]!.cli('why', '--fleet', 'com.test.chaos', 'com.test.chaos.job.0');
    assert.equal(why.code, 0, why.stderr);
    const status = await homes[0]!.cli('status');
    assert.match(
      status.stdout,
      /postgres postgres:\/\/postgres@127\.0\.0\.1:5432\/test\?schema=\w+ \(fleet node node-1/,
    );

    const file = join(homes[0]!.home, 'run', 'dashboard.json');
    assert.ok(existsSync(file), 'node 1 serves the dashboard');
    const { url, token } = JSON.parse(readFileSync(file, 'utf8')) as { url: string; token: string };
    const browserSkipped = browserSkip(); // the fleet's dashboard panel needs chromium
    if (browserSkipped) {
      t.skip(browserSkipped);
      return;
    }
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`${url}?token=${token}`);
      await page.locator('[data-fleet-nodes] tr[data-node-id]').nth(2).waitFor();
      const ids = await page
        .locator('[data-fleet-nodes] tr[data-node-id]')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-node-id')));
      assert.deepEqual(ids.sort(), ['node-1', 'node-2', 'node-3']);
      await page.locator('[data-fleet-runs] tr[data-node-id]').first().waitFor();
      const ranOn = await page
        .locator('[data-fleet-runs] tr[data-node-id]')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-node-id')));
      assert.ok(
        ranOn.every((id) => ['node-1', 'node-2', 'node-3'].includes(id ?? '')),
        JSON.stringify(ranOn),
      );
    } finally {
      await browser.close();
    }
  });

  it('a killed node that comes back rejoins and takes work again', async () => {
    daemons[2] = await homes[2]!.startDaemon([...FLEET_OPTIONS, '--node-id', 'node-3', '--no-http'], APP_ENV);
    await until('node 3 alive again', async () => {
      const listed = (await homes[0]!.cli('nodes', '--json')).json<
        { nodeId: string; alive: boolean; epoch: number }[]
      >();
      const node = listed.find((entry) => entry.nodeId === 'node-3');
      return node?.alive ? node : undefined;
    });
    const { rows } = await db.query(
      `SELECT task_id FROM ${SCHEMA}.runs WHERE node_id = 'node-3' AND state <> ` + `'finished'`,
    );
    assert.deepEqual(rows, [], 'nothing of node 3 is left running');
  });

  // Issue 17 item 3, for chains: each step submits its successor first thing, then works. A step cut
  // off on the killed node runs again elsewhere and submits its successor again; that successor may
  // have run already (or be running). The re-run's submission is taken as already done, so only the
  // steps in hand on the killed node run twice, never their successors.
  it('chains of self-resubmitting tasks: a node killed mid-chain repeats only the steps it had in hand', async () => {
    const CHAINS = 30;
    const LAST = 5; // steps 0..5
    const isChain = (identifier: string) => identifier.startsWith('com.test.chaos.job.chain.');
    const started = await run(process.execPath, ['main.mjs', 'chains', String(CHAINS), String(LAST)], {
      cwd: CHAOS_APP_DIR,
      env: { BGTASKS_HOME: homes[0]!.home, PROBE_DIR: homes[0]!.probeDir, CHAOS_PLACEMENT: 'any' },
    });
    assert.equal(started.code, 0, started.stderr);
    // The worst moment: node 3 runs steps that have submitted their successor (acknowledged) and still work.
    const submittedOnNode3 = (): Set<string> => {
      const file = join(homes[2]!.probeDir, 'tasks.log');
      const lines = existsSync(file) ? readFileSync(file, 'utf8').split('\n') : [];
      const submissions = lines.filter((line) => line.startsWith('submitted com.test.chaos.job.chain.'));
      return new Set(submissions.map((line) => line.split(' ')[2]!)); // the task that submitted
    };
    const runningOnNode3 = async () =>
      (await runs()).filter((row) => row.node_id === 'node-3' && row.state === 'running' && isChain(row.identifier));
    await until('node 3 to be running chain steps that submitted their successor', async () => {
      const submitted = submittedOnNode3();
      return (await runningOnNode3()).filter((row) => submitted.has(row.task_id)).length >= 2 ? true : undefined;
    });
    await daemons[2]!.kill('SIGKILL');
    const inHand = new Set(
      (await runs())
        .filter((row) => row.node_id === 'node-3' && row.state !== 'finished' && isChain(row.identifier))
        .map((row) => row.identifier),
    );
    assert.ok(inHand.size >= 1, 'the kill cut off chain steps');
    const cutAfterSubmitting = (await runs()).filter(
      (row) => row.node_id === 'node-3' && row.state !== 'finished' && submittedOnNode3().has(row.task_id),
    );

    const stepsOf = (chain: number) =>
      Array.from({ length: LAST + 1 }, (_, n) => `com.test.chaos.job.chain.${chain}.${n}.${LAST}`);
    const steps = Array.from({ length: CHAINS }, (_, chain) => stepsOf(chain)).flat();
    const chainRuns = async () => (await runs()).filter((row) => isChain(row.identifier));
    const unfinished = (rows: RunRow[]) => {
      const succeeded = new Set(rows.filter((row) => row.outcome === 'success').map((row) => row.identifier));
      return steps.filter((identifier) => !succeeded.has(identifier));
    };
    const final = await until(
      'every step of every chain to succeed',
      async () => {
        const rows = await chainRuns();
        return unfinished(rows).length === 0 ? rows : undefined;
      },
      120_000,
    ).catch(async (error: unknown) => {
      // What a stuck chain left: its runs, pending requests and events, for the failure's message.
      const missing = unfinished(await chainRuns()).slice(0, 5);
      const { rows: pending } = await db.query(
        `SELECT identifier, node_id, lease_owner FROM ${SCHEMA}.requests WHERE identifier = ANY($1)`,
        [missing],
      );
      const { rows: events } = await db.query(
        `SELECT node_id, identifier, type, reason, detail FROM ${SCHEMA}.events WHERE identifier = ANY($1)`,
        [missing],
      );
      const rows = (await chainRuns()).filter((row) => missing.includes(row.identifier));
      throw new Error(`${String(error)}: ${JSON.stringify({ missing, rows, pending, events })}`);
    });
    const runsOf = (identifier: string) =>
      final.filter((row) => row.identifier === identifier && row.started_at !== null);
    const successes = (identifier: string) => runsOf(identifier).filter((row) => row.outcome === 'success').length;
    const succeededTwice = steps.filter((identifier) => successes(identifier) !== 1);
    assert.deepEqual(succeededTwice, [], 'each step succeeded exactly once');
    const ranTwice = steps.filter((identifier) => runsOf(identifier).length > 1);
    const repeated = ranTwice.filter((identifier) => !inHand.has(identifier));
    assert.deepEqual(repeated, [], 'only the steps in hand on the killed node ran twice: no successor was repeated');
    const { rows: repeats } = await db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${SCHEMA}.events WHERE reason = 'submittedByEarlierAttempt'`,
    );
    // Each step cut off after submitting its successor ran again and submitted it again: taken as done.
    const repeatsTakenAsDone = Number(repeats[0]!.n);
    const cutCount = cutAfterSubmitting.length;
    assert.ok(repeatsTakenAsDone >= cutCount, `${repeatsTakenAsDone} repeats taken as done for ${cutCount} steps`);
    const summary = { steps: steps.length, runs: final.length, inHand: inHand.size, ranTwice: ranTwice.length };
    console.log(`fleet chains: ${JSON.stringify({ ...summary, cutAfterSubmitting: cutCount, repeatsTakenAsDone })}`);
    await until("node 3's apps to end", async () => (processesOf(homes[2]!.home).length === 0 ? true : undefined));
  });
});
