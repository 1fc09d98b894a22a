import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Discovery } from '../../src/sdk/discovery.js';
import { DRY_RUN_WINDOW_MS, type DryRunReport } from '../../src/sdk/dryRun.js';
import { BGTaskSchedulerError } from '../../src/sdk/errors.js';
import type { Logger } from '../../src/sdk/logger.js';
import { BGAppRefreshTaskRequest, BGProcessingTaskRequest } from '../../src/sdk/requests.js';
import { BGTaskScheduler } from '../../src/sdk/scheduler.js';

/** Lets setImmediate callbacks and the promise chains they start run. */
async function ticks(count = 6): Promise<void> {
  for (let i = 0; i < count; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

const dir = mkdtempSync(join(tmpdir(), 'bgt-dryrun-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

/** An app that is not installed and whose manifest permits only `com.example.refresh`. */
const discovery: Discovery = {
  socketPath: () => '/nowhere/run/daemon.sock',
  manifest: () => ({
    file: '/apps/example/package.json',
    appId: 'com.example',
    permittedIdentifiers: ['com.example.refresh'],
    backgroundModes: ['fetch'],
  }),
  resolve: () => {
    throw new BGTaskSchedulerError('unavailable', 'app com.example is not installed');
  },
};

function dryRunScheduler(file: string) {
  const exits: number[] = [];
  const scheduler = BGTaskScheduler._create({
    env: { BGTASKS_DRY_RUN: file },
    discovery,
    connect: () => assert.fail('a dry run must not connect'),
    logger: quiet,
    exit: (code) => exits.push(code),
  });
  return { scheduler, exits };
}

function read(file: string): DryRunReport {
  return JSON.parse(readFileSync(file, 'utf8')) as DryRunReport;
}

describe('BGTaskScheduler in a dry run (BGTASKS_DRY_RUN)', () => {
  it(
    'answers without a daemon, reports registrations when the handshake would ' +
      'start, then submissions, and exits 0',
    async () => {
      const file = join(dir, 'report.json');
      const listeners = (): number => process.listenerCount('beforeExit') + process.listenerCount('exit');
      const before = listeners();
      const { scheduler, exits } = dryRunScheduler(file);
      const handler = (): void => undefined;
      // Not in the manifest: accepted here, since judging the manifest is `bgtasks check`'s job.
      assert.equal(scheduler.register('com.example.rogue', handler), true);
      assert.equal(scheduler.register('com.example.refresh', handler), true);
      assert.equal(scheduler.register('com.example.refresh', handler), false, 'duplicate');
      assert.equal(existsSync(file), false);

      await ticks();
      const started = read(file);
      assert.equal(started.phase, 'started');
      assert.deepEqual(started.registered, ['com.example.rogue', 'com.example.refresh']);
      assert.equal(started.appId, 'com.example');
      assert.equal(started.launchReason, 'user');
      assert.deepEqual(
        started.refused.map((entry) => entry.identifier),
        ['com.example.refresh'],
      );

      // The app's start-up code takes its normal path: every call succeeds.
      assert.equal(scheduler.register('com.example.late', handler), false, 'late');
      await scheduler.submit(new BGAppRefreshTaskRequest('com.example.refresh'));
      await scheduler.submit(new BGProcessingTaskRequest('com.example.unlisted'));
      assert.deepEqual(await scheduler.getPendingTaskRequests(), []);
      await scheduler.cancel('com.example.refresh');
      await scheduler.cancelAll();
      assert.equal((await scheduler.explain('com.example.refresh')).state, 'none');
      assert.deepEqual(exits, [], 'the window is still open');
      assert.equal(listeners(), before + 2);

      const deadline = Date.now() + DRY_RUN_WINDOW_MS * 3;
      while (exits.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(exits, [0]);
      const final = read(file);
      assert.equal(final.phase, 'final');
      assert.deepEqual(final.registered, ['com.example.rogue', 'com.example.refresh']);
      assert.deepEqual(
        final.refused.map((entry) => entry.identifier),
        ['com.example.refresh', 'com.example.late'],
      );
      assert.match(final.refused[1]?.reason ?? '', /registered at start-up/);
      assert.deepEqual(final.submitted, [
        { identifier: 'com.example.refresh', kind: 'refresh' },
        { identifier: 'com.example.unlisted', kind: 'processing' },
      ]);
      assert.deepEqual(readdirSync(dir), ['report.json'], 'written through a temp file and a rename');
      assert.equal(listeners(), before, "the window's process listeners are removed");
      await scheduler.close();
    },
  );

  it('exits 1 with a line on stderr when the report cannot be written', async () => {
    const { scheduler, exits } = dryRunScheduler(join(dir, 'missing', 'report.json'));
    scheduler.register('com.example.refresh', () => undefined);
    const write = process.stderr.write;
    const lines: string[] = [];
    process.stderr.write = ((chunk: string) => lines.push(String(chunk)) > 0) as typeof process.stderr.write;
    try {
      await ticks();
    } finally {
      process.stderr.write = write;
    }
    assert.deepEqual(exits, [1]);
    assert.match(lines.join(''), /dry run: could not write the report/);
    await scheduler.close();
  });
});
