import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { ROOT, TestHome, run, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * File triggers with a real daemon, a real app process and a real SQLite store: a file dropped in a
 * watched folder launches the app, which is not running, with the file's name in `task.data`; a file
 * dropped while the daemon is down is found when it starts again; a relative path is refused, naming
 * the field.
 */
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'inbox-watch');
const APP_ID = 'com.test.inboxwatch';

interface Handled {
  readonly data: { trigger: { changes: { path: string; kind: string }[]; truncated: boolean } };
}

describe('file triggers (real daemon)', () => {
  let home: TestHome;
  let daemon: DaemonProcess;
  let inbox: string;
  const homes: TestHome[] = [];
  const events = (): Record<string, unknown>[] => home.probeEvents();
  const handled = (): Handled[] => events().filter((event) => event['event'] === 'handler') as unknown as Handled[];
  const app = (...args: string[]) =>
    run(process.execPath, ['main.mjs', ...args], {
      cwd: APP_DIR,
      env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
    });
  const startDaemon = () => home.startDaemon(['--option', 'profile=server']);

  beforeEach(async () => {
    home = new TestHome();
    homes.push(home);
    inbox = join(home.dir, 'Inbox');
    mkdirSync(inbox);
    daemon = await startDaemon();
    assert.equal((await home.cli('install', APP_DIR)).code, 0);
  });
  afterEach(async () => {
    await daemon[Symbol.asyncDispose]();
  });
  after(() => {
    for (const each of homes) each.cleanup();
  });

  it(
    'launches the app, which is not running, when a file is dropped in the ' +
      'watched folder, with its name in task.data',
    async () => {
      const tool = await app('submit', inbox);
      assert.equal(tool.code, 0, tool.stderr);
      assert.ok(
        events().some((event) => event['event'] === 'submitted'),
        JSON.stringify(events()),
      );
      const why = await home.cli('why', APP_ID, 'com.test.inboxwatch.import');
      assert.match(why.stdout, /waitsForFileChange/);
      // Nothing runs before a change.
      assert.equal(handled().length, 0);
      writeFileSync(join(inbox, 'invoice-1.pdf'), 'pdf');
      const [first] = await until('the task to run', () => (handled().length > 0 ? handled() : undefined));
      assert.deepEqual(first!.data.trigger.changes, [{ path: join(inbox, 'invoice-1.pdf'), kind: 'created' }]);
      const starts = events().filter((event) => event['event'] === 'start' && event['launchReason'] === 'background');
      assert.equal(starts.length, 1, 'launched in the background for it');
      const history = await home.cli('history', APP_ID);
      assert.match(history.stdout, /com\.test\.inboxwatch\.import\s.*1 file change\(s\)/, history.stdout);
      // The request waits for the next change, with none pending.
      const pending = await home.cli('pending', '--json');
      assert.match(pending.stdout, /"triggers"/);
    },
  );

  it('finds a file dropped while the daemon was down when it starts again', async () => {
    assert.equal((await app('submit', inbox)).code, 0);
    // Let the first look store the folder's listing with the request.
    await until('the listing to be stored', async () =>
      /"snapshot":\s*\{/.test((await home.cli('pending', '--json')).stdout) ? true : undefined,
    );
    await daemon.kill('SIGKILL');
    writeFileSync(join(inbox, 'while-down.txt'), 'x');
    daemon = await startDaemon();
    const [first] = await until('the task to run after the restart', () =>
      handled().length > 0 ? handled() : undefined,
    );
    assert.deepEqual(first!.data.trigger.changes, [{ path: join(inbox, 'while-down.txt'), kind: 'created' }]);
  });

  it('refuses a relative path with a typed error naming the field', async () => {
    assert.equal((await app('submit', 'relative/Inbox')).code, 0);
    const refused = events().find((event) => event['event'] === 'submitError');
    assert.equal(refused?.['code'], 'invalidRequest');
    assert.equal(refused?.['field'], 'triggers.paths.0');
  });
});
