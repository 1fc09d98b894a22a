import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, TestHome, run, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Workflows end to end (docs/workflows.md): the daemon as a process on a real SQLite file, the chain app
 * launched by it as child processes. A chain of three tasks (export -> convert -> upload), each handed
 * the one before's result, goes on across a SIGKILL of the daemon while its middle step runs.
 */
const CHAIN_APP = join(ROOT, 'test', 'fixtures', 'apps', 'chain');
const APP = 'com.test.chain';
const OPTIONS = ['--option', 'profile=server', '--option', 'appIdleTimeoutMs=1000'];

interface Handled {
  readonly event: string;
  readonly identifier?: string;
  readonly data?: unknown;
  readonly prerequisites?: Record<string, unknown>;
}

describe('workflows, end to end', () => {
  const home = new TestHome();
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });
  const handled = (identifier: string): Handled[] =>
    (home.probeEvents() as unknown as Handled[]).filter(
      (event) => event.event === 'handler' && event.identifier === identifier,
    );

  it(
    'runs a chain of three across a daemon SIGKILL in its middle step, each step ' + 'with the results before it',
    async () => {
      daemon = await home.startDaemon(OPTIONS);
      assert.equal((await home.cli('install', CHAIN_APP, '--json')).code, 0);
      const submitted = await run(process.execPath, ['main.mjs', 'submit'], {
        cwd: CHAIN_APP,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.deepEqual(JSON.parse(submitted.stdout), [{ ok: true }, { ok: true }, { ok: true }], submitted.stderr);

      // The convert step runs (holding until released); the upload waits for it, and says so.
      await until('the convert step to start', () => (handled('com.test.chain.convert').length > 0 ? true : undefined));
      const why = (await home.cli('why', APP, 'com.test.chain.upload', '--json')).json<{
        state: string;
        blockers: { reason: string; message: string }[];
      }>();
      assert.equal(why.state, 'pending');
      assert.equal(why.blockers[0]?.reason, 'waitingForPrerequisites');
      assert.match(why.blockers[0]!.message, /com\.test\.chain\.convert \(running\)/);
      const pending = (await home.cli('pending', APP, '--json')).json<
        { identifier: string; dependsOn?: string[]; data?: unknown }[]
      >();
      assert.deepEqual(
        pending.map((request) => [request.identifier, request.dependsOn, request.data]),
        [['com.test.chain.upload', ['com.test.chain.convert'], { to: 'archive' }]],
      );

      await daemon.kill('SIGKILL');
      writeFileSync(join(home.probeDir, 'release'), '');
      daemon = await home.startDaemon(OPTIONS, {}, { pinConditions: false });

      await until('the upload step to run', () => (handled('com.test.chain.upload').length > 0 ? true : undefined));
      const history = async (identifier: string) =>
        (await home.cli('history', APP, identifier, '--json')).json<
          { outcome: string | null; result?: unknown; data?: unknown; dependsOn?: string[] }[]
        >();
      const upload = await until('the upload run to be recorded', async () => {
        const [latest] = await history('com.test.chain.upload');
        return latest?.outcome === 'success' ? latest : undefined;
      });
      assert.deepEqual(upload.result, { uploaded: true });
      assert.deepEqual(upload.data, { to: 'archive' });
      assert.deepEqual(upload.dependsOn, ['com.test.chain.convert']);

      const [exported] = handled('com.test.chain.export');
      assert.deepEqual(exported?.data, { file: 'report' });
      assert.deepEqual(handled('com.test.chain.export').length, 1, 'the export ran once');
      // The convert step was cut off by the kill and ran again, with the export's result both times.
      const converts = handled('com.test.chain.convert');
      assert.ok(converts.length >= 2, `convert ran again after the kill (${converts.length})`);
      for (const convert of converts)
        assert.deepEqual(convert.prerequisites, { 'com.test.chain.export': { exported: 'report.zip' } });
      assert.deepEqual(
        handled('com.test.chain.upload').map((event) => event.prerequisites),
        [{ 'com.test.chain.convert': { converted: 'report.zip.pdf' } }],
      );
      const convertRuns = (await history('com.test.chain.convert')).map((each) => each.outcome);
      assert.ok(
        convertRuns.includes('interrupted') && convertRuns[0] === 'success',
        `convert: ${convertRuns.join(', ')}`,
      );
      const text = await home.cli('history', APP, 'com.test.chain.upload');
      assert.match(text.stdout, /RESULT/);
      assert.match(text.stdout, /\{"uploaded":true\}/);
    },
  );
});
