import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, PROBE_APP, ROOT, TestHome, until as waitFor, type DaemonProcess } from '../support/daemonProcess.js';

const TOP_APP = join(ROOT, 'test', 'fixtures', 'apps', 'top-count');
/** A failure guard for polling the screen; never a timing assertion. */
const SCREEN_GUARD_MS = 15_000;
const HAS_TMUX = spawnSync('tmux', ['-V']).status === 0;

/** The percentage next to the first progress bar on a captured screen, or null. */
function percentOf(screen: string): number | null {
  const match = /\[█*░*\]\s+(\d+)%/.exec(screen);
  return match ? Number(match[1]) : null;
}

/** `bgtasks top` against a real daemon: the scripts' forms, and the live screen read from a tmux pane. */
describe('bgtasks top', () => {
  const home = new TestHome();
  // Our own tmux server (never the user's) with a known configuration: no status line, so the pane is
  // the whole 100x30 window. Inside, a shell runs top, then says how it exited and waits for Enter: the
  // pane stays to be looked at once top has gone, and everything top wrote has been drawn by then.
  // The socket lives in the test's directory (not /tmp/tmux-UID), so nothing is left behind.
  const socket = join(home.dir, 'tmux.sock');
  const tmuxConf = join(home.dir, 'tmux.conf');
  const tmux = (...args: string[]): string =>
    execFileSync('tmux', ['-S', socket, '-f', tmuxConf, ...args], { encoding: 'utf8' });
  const children: ChildProcess[] = [];
  let daemon: DaemonProcess;

  async function poll<T>(look: () => T, until: (value: T) => boolean, description: string): Promise<T> {
    const deadline = Date.now() + SCREEN_GUARD_MS;
    let value = look();
    while (!until(value)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}; last seen:\n${String(value)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      value = look();
    }
    return value;
  }

  const screen = (session: string, until: (text: string) => boolean, description: string): Promise<string> =>
    poll(() => tmux('capture-pane', '-p', '-t', session), until, description);

  /** Whether the pane shows the alternate screen, and the cursor. */
  function terminal(session: string): { alternate: boolean; cursorVisible: boolean } {
    const [alternate, cursor] = tmux('display-message', '-p', '-t', session, '#{alternate_on} #{cursor_flag}')
      .trim()
      .split(' ');
    return { alternate: alternate === '1', cursorVisible: cursor === '1' };
  }

  async function startTop(session: string): Promise<void> {
    tmux(
      'new-session',
      '-d',
      '-x',
      '100',
      '-y',
      '30',
      '-s',
      session,
      `'${process.execPath}' '${CLI}' --home '${home.home}' top; echo "top exited ` + `$?"; read _`,
    );
    await screen(session, (text) => text.includes('RUNNING'), 'the first frame');
    assert.deepEqual(
      terminal(session),
      { alternate: true, cursorVisible: false },
      'top draws on the alternate screen with the cursor hidden',
    );
  }

  async function assertRestored(session: string): Promise<void> {
    const after = await screen(session, (text) => /top exited \d+/.test(text), 'top to exit');
    assert.match(after, /top exited 0/);
    assert.doesNotMatch(after, /RUNNING/, 'the frame went with the alternate screen');
    assert.deepEqual(
      terminal(session),
      { alternate: false, cursorVisible: true },
      'the terminal is back: main screen, cursor shown',
    );
    tmux('send-keys', '-t', session, 'Enter');
    await poll(
      () => spawnSync('tmux', ['-S', socket, 'has-session', '-t', session]).status,
      (status) => status !== 0,
      'the session to end',
    );
  }

  before(async () => {
    writeFileSync(tmuxConf, 'set -g status off\n');
    daemon = await home.startDaemon();
  });

  after(async () => {
    if (HAS_TMUX) spawnSync('tmux', ['-S', socket, 'kill-server']);
    for (const child of children) child.kill('SIGKILL');
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('exits 3 when no daemon runs, and 2 for a bad interval', async () => {
    const elsewhere = new TestHome();
    try {
      const result = await elsewhere.cli('top', '--once');
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /daemonNotRunning/);
      assert.equal((await elsewhere.cli('top', '--interval', '5')).code, 2);
    } finally {
      elsewhere.cleanup();
    }
  });

  it('--once prints one plain frame: an empty system says what would show where', async () => {
    const result = await home.cli('top', '--once');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(!result.stdout.includes('\x1b'), 'no escape sequences when not on a terminal');
    for (const expected of [
      /^bgtasks top · daemon \S+ · profile \w+/m,
      /no apps installed yet/,
      /^RUNNING$/m,
      /nothing running now/,
      /^QUEUE$/m,
      /^PENDING$/m,
      /nothing pending/,
      /^RECENT$/m,
      /no finished runs yet/,
    ]) {
      assert.match(result.stdout, expected);
    }
  });

  it('--once --json prints the snapshot', async () => {
    assert.equal((await home.cli('install', PROBE_APP)).code, 0);
    assert.equal((await home.cli('install', TOP_APP)).code, 0);
    const result = await home.cli('top', '--once', '--json');
    assert.equal(result.code, 0, result.stderr);
    const snapshot = result.json<
      Record<string, unknown> & {
        conditions: { conditions: Record<string, unknown> };
        apps: { appId: string; enabled: boolean }[];
      }
    >();
    assert.equal(typeof snapshot.at, 'number');
    assert.equal(typeof snapshot.daemonVersion, 'string');
    assert.equal(typeof snapshot.profile, 'string');
    assert.equal(snapshot.backgroundAppRefresh, true);
    assert.equal(snapshot.conditions.conditions.thermalState, 'nominal');
    for (const list of ['running', 'pending', 'recent'] as const) assert.ok(Array.isArray(snapshot[list]), list);
    assert.deepEqual(
      snapshot.apps.map((app) => [app.appId, app.enabled]),
      [
        ['com.test.probe', true],
        ['com.test.top', true],
      ],
    );
  });

  it(
    "on a terminal: c cancels the continued task, as the dashboard's Cancel: it " + 'ends expired with userCancelled',
    { skip: !HAS_TMUX && 'tmux is not installed' },
    async () => {
      await startTop('cancel');
      const app = spawn(process.execPath, ['main.mjs', 'slow'], {
        cwd: TOP_APP,
        env: { ...process.env, BGTASKS_HOME: home.home },
        stdio: 'ignore',
      });
      children.push(app);
      await screen('cancel', (text) => /c cancel "Counting slowly to 100"/.test(text), 'the footer to offer c');
      tmux('send-keys', '-t', 'cancel', 'c');
      await screen(
        'cancel',
        (text) => /cancelled "Counting slowly to 100": the app's expiration handler runs/.test(text),
        'the cancel to be told',
      );
      const history = await waitFor('the cancelled run', async () => {
        const runs = JSON.parse(
          (await home.cli('history', 'com.test.top', 'com.test.top.count.slow', '--json')).stdout,
        ) as { outcome: string | null; expirationReason: string | null }[];
        return runs.find((run) => run.outcome !== null);
      });
      assert.equal(history.expirationReason, 'userCancelled');
      tmux('send-keys', '-t', 'cancel', 'q');
      await assertRestored('cancel');
    },
  );

  it(
    'on a terminal: Ctrl-C quits and gives the terminal back',
    { skip: !HAS_TMUX && 'tmux is not installed' },
    async () => {
      await startTop('idle');
      tmux('send-keys', '-t', 'idle', 'C-c');
      await assertRestored('idle');
    },
  );

  it(
    "on a terminal: draws a continued task's progress bar as it rises; q quits " + 'and gives the terminal back',
    { skip: !HAS_TMUX && 'tmux is not installed' },
    async () => {
      await startTop('count');
      const app = spawn(process.execPath, ['main.mjs'], {
        cwd: TOP_APP,
        env: { ...process.env, BGTASKS_HOME: home.home },
        stdio: 'ignore',
      });
      children.push(app);
      const first = await screen('count', (text) => (percentOf(text) ?? 100) < 100, 'a progress bar with a percentage');
      assert.match(first, /com\.test\.top {2}Counting {2}com\.test\.top\.count\.1/);
      assert.match(first, /^ {4}to 100$/m);
      const before = percentOf(first)!;
      const later = await screen(
        'count',
        (text) => (percentOf(text) ?? -1) > before,
        `the percentage to rise above ${before}%`,
      );
      assert.match(later, /\d+\/100 {2}elapsed \d+:\d\d/);
      await screen(
        'count',
        (text) =>
          /RECENT \(\d+\)\n {2}\d\d:\d\d:\d\d {2}com\.test\.top {2}com\.test\.top\.count\.1 +success/.test(text),
        'the finished run in RECENT',
      );
      tmux('send-keys', '-t', 'count', 'q');
      await assertRestored('count');
    },
  );
});
