import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { DBusConnection, sessionBusAddress } from '../../src/conditions/dbusConnection.js';
import { encodeMessage, variant } from '../../src/conditions/dbusEncode.js';
import { decodeMessage, MessageType } from '../../src/conditions/dbusWire.js';
import { appleScriptString, displayNotificationScript } from '../../src/daemon/notifications/darwinNotifier.js';
import {
  createDesktopNotifier,
  type DesktopNotification,
  type DesktopNotifier,
} from '../../src/daemon/notifications/desktopNotifier.js';
import { FreedesktopNotifier } from '../../src/daemon/notifications/freedesktopNotifier.js';
import {
  findDbusDaemon,
  nameHasOwner,
  NOTIFICATIONS_NAME,
  NOTIFICATIONS_PATH,
  startFakeNotificationServer,
  startPrivateSessionBus,
  type FakeNotificationServer,
  type PrivateSessionBus,
} from '../support/fakeNotificationServer.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-notifier-'));
after(() => rmSync(base, { recursive: true, force: true }));

function notification(key: string, extra: Partial<DesktopNotification> = {}): DesktopNotification {
  return {
    key,
    appName: 'com.example.mail',
    title: 'Sync finished',
    body: '12 new messages',
    actions: [
      { id: 'open', title: 'Open inbox' },
      { id: 'snooze', title: 'Snooze' },
    ],
    ...extra,
  };
}

/** The next onAction call, or a failure after `ms`. */
function nextAction(notifier: DesktopNotifier, ms = 3_000): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.dispose();
      reject(new Error(`no onAction within ${ms} ms`));
    }, ms);
    const subscription = notifier.onAction((key, actionId) => {
      clearTimeout(timer);
      subscription.dispose();
      resolve([key, actionId]);
    });
  });
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 3_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('encoding the containers Notify sends', () => {
  it('round-trips arrays, dicts of variants and structs through the decoder', () => {
    const message = {
      type: MessageType.methodCall,
      serial: 5,
      path: '/p',
      member: 'M',
      signature: 'yasa{sv}(it)adi',
      body: [
        7,
        ['a', 'bc'],
        new Map([
          ['urgency', variant('y', 1)],
          ['label', variant('s', 'x')],
        ]),
        [-3, 2 ** 40],
        [],
        -1,
      ],
    };
    const decoded = decodeMessage(encodeMessage(message));
    assert.deepEqual(decoded.body, [
      7,
      ['a', 'bc'],
      new Map<string, unknown>([
        ['urgency', 1],
        ['label', 'x'],
      ]),
      [-3, 2 ** 40],
      [],
      -1,
    ]);
    assert.throws(() => encodeMessage({ ...message, signature: 'v', body: ['untyped'] }), /DBusVariant/);
  });
});

describe('createDesktopNotifier without a session bus', () => {
  it('is kind none on Linux with no bus, and says why without throwing', async () => {
    const notifier = createDesktopNotifier({ platform: 'linux', env: { XDG_RUNTIME_DIR: join(base, 'no-such-dir') } });
    assert.equal(notifier.kind, 'none');
    const result = await notifier.post(notification('a'));
    assert.equal(result.shown, false);
    assert.match(result.detail, /no D-Bus session bus/);
    assert.match(result.detail, /no-such-dir\/bus is not a socket/);
    notifier.dispose();
  });

  it('finds the bus at $XDG_RUNTIME_DIR/bus when DBUS_SESSION_BUS_ADDRESS is unset or unusable', async () => {
    const path = join(base, 'bus');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(path, resolve));
    try {
      assert.equal(sessionBusAddress({ XDG_RUNTIME_DIR: base }), `unix:path=${path}`);
      assert.equal(
        sessionBusAddress({ XDG_RUNTIME_DIR: base, DBUS_SESSION_BUS_ADDRESS: 'disabled:' }),
        `unix:path=${path}`,
      );
      assert.equal(
        sessionBusAddress({ XDG_RUNTIME_DIR: base, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x' }),
        'unix:path=/x',
      );
      assert.equal(createDesktopNotifier({ platform: 'linux', env: { XDG_RUNTIME_DIR: base } }).kind, 'freedesktop');
    } finally {
      server.close();
    }
  });

  it(
    'resolves shown:false when the bus cannot be reached, then backs off instead ' + 'of reconnecting at every post',
    async () => {
      const warnings: string[] = [];
      let now = 0;
      const notifier = new FreedesktopNotifier({
        address: `unix:path=${join(base, 'missing.sock')}`,
        now: () => now,
        log: {
          warn: (message, fields) => warnings.push(`${message} ${String(fields?.detail)}`),
          info: () => undefined,
        },
      });
      const first = await notifier.post(notification('a'));
      assert.equal(first.shown, false);
      assert.match(first.detail, /cannot reach the D-Bus session bus at unix:path=.*missing\.sock: .*ENOENT/);
      now = 59_000;
      const second = await notifier.post(notification('b'));
      assert.match(second.detail, /ENOENT.*\(next attempt in 1 s\)$/);
      assert.equal(warnings.length, 1, 'the same problem is logged once');
      now = 61_000;
      assert.doesNotMatch(
        (await notifier.post(notification('c'))).detail,
        /next attempt/,
        'tried again after the backoff',
      );
      notifier.dispose();
    },
  );

  it('is kind none on other platforms, and macos on darwin with AppleScript-escaped text', async () => {
    const windows = createDesktopNotifier({ platform: 'win32', env: {} });
    assert.equal(windows.kind, 'none');
    assert.deepEqual(await windows.post(notification('a')), {
      shown: false,
      detail: 'desktop notifications are not supported on win32',
    });

    assert.equal(appleScriptString('say "hi" \\ bye'), '"say \\"hi\\" \\\\ bye"');
    assert.equal(
      displayNotificationScript(notification('a', { title: 'A "quoted" title', body: 'back\\slash', appName: 'app' })),
      'display notification "back\\\\slash" with title "A \\"quoted\\" title" subtitle "app"',
    );
    const mac = createDesktopNotifier({ platform: 'darwin', env: { PATH: join(base, 'empty-path') } });
    assert.equal(mac.kind, 'macos');
    const result = await mac.post(notification('a'));
    assert.equal(result.shown, false, 'no osascript on this PATH');
    assert.match(result.detail, /osascript/);
    mac.dispose();
  });
});

const dbusDaemon = findDbusDaemon();
const skip = dbusDaemon
  ? false
  : 'dbus-daemon is not installed: the desktop notifier needs a real session bus ' +
    'to be tested (apt-get install dbus-daemon)';

describe('the freedesktop notifier against a private session bus', { skip }, () => {
  let bus: PrivateSessionBus;
  let server: FakeNotificationServer | undefined;
  const open: { dispose(): void }[] = [];

  before(async () => {
    bus = await startPrivateSessionBus(dbusDaemon);
  });
  after(async () => {
    for (const disposable of open) disposable.dispose();
    server?.stop();
    await bus?.stop();
    assert.equal(bus?.running ?? false, false, 'dbus-daemon is gone');
  });

  function notifier(): DesktopNotifier {
    const created = createDesktopNotifier({ platform: 'linux', env: { DBUS_SESSION_BUS_ADDRESS: bus.address } });
    open.push(created);
    return created;
  }

  it('posts the summary, body, app name and actions, and asks the capabilities once over one connection', async () => {
    server = await startFakeNotificationServer(bus.address);
    const desktop = notifier();
    assert.equal(desktop.kind, 'freedesktop');

    const result = await desktop.post(notification('mail-1'));
    assert.deepEqual(result, { shown: true, detail: `shown by bgtasks-fake 1.0 (${NOTIFICATIONS_NAME} id 1)` });
    const [call] = server.notifications;
    assert.ok(call);
    assert.equal(call.appName, 'com.example.mail');
    assert.equal(call.summary, 'Sync finished');
    assert.equal(call.body, '12 new messages');
    assert.deepEqual(call.actions, ['default', 'Open', 'open', 'Open inbox', 'snooze', 'Snooze']);
    assert.deepEqual(call.hints, new Map([['urgency', 1]]));
    assert.equal(call.replacesId, 0);
    assert.equal(call.appIcon, '');
    assert.equal(call.expireTimeout, -1);

    await desktop.post(notification('mail-2', { title: 'Second' }));
    // The same key again updates its notification instead of stacking another.
    await desktop.post(notification('mail-1', { body: '13 new messages' }));
    assert.deepEqual(
      server.notifications.map((n) => [n.id, n.replacesId, n.summary]),
      [
        [1, 0, 'Sync finished'],
        [2, 0, 'Second'],
        [1, 1, 'Sync finished'],
      ],
    );
    assert.equal(new Set(server.notifications.map((n) => n.sender)).size, 1, 'one connection, reused');
    assert.deepEqual(
      server.calls.filter((member) => member === 'GetCapabilities'),
      ['GetCapabilities'],
    );
  });

  it('reports the action the person chose, for our notifications only, until the notification closes', async () => {
    server ??= await startFakeNotificationServer(bus.address);
    const desktop = notifier();
    await desktop.post(notification('task-7'));
    await desktop.post(notification('task-8'));
    const [seven, eight] = server.notifications.slice(-2).map((n) => n.id);
    assert.ok(seven !== undefined && eight !== undefined);

    let action = nextAction(desktop);
    server.invokeAction(seven, 'snooze');
    assert.deepEqual(await action, ['task-7', 'snooze']);

    // A click on the body, sent only to us (as GNOME Shell does) rather than broadcast.
    action = nextAction(desktop);
    server.invokeAction(eight, 'default', server.notifications.at(-1)!.sender);
    assert.deepEqual(await action, ['task-8', 'default']);

    // Not ours (an id we never got), then closed, then spoofed by another client: none of these
    // may reach the listener, which the one good action after them proves (signals keep their order).
    const other = await DBusConnection.connect(bus.address);
    try {
      action = nextAction(desktop);
      server.invokeAction(999, 'open');
      server.closeNotification(seven, 2);
      server.invokeAction(seven, 'open');
      other.emitSignal({
        path: NOTIFICATIONS_PATH,
        interface: NOTIFICATIONS_NAME,
        member: 'ActionInvoked',
        signature: 'us',
        body: [eight, 'spoofed'],
        destination: server.notifications.at(-1)!.sender,
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      server.invokeAction(eight, 'open');
      assert.deepEqual(await action, ['task-8', 'open']);
    } finally {
      other.dispose();
    }
  });

  it('resolves shown:false when the service is gone, and uses the next one with what it can do', async () => {
    server ??= await startFakeNotificationServer(bus.address);
    const desktop = notifier();
    assert.equal((await desktop.post(notification('before'))).shown, true);
    server.stop();

    await eventually(async () => !(await desktop.post(notification('gone'))).shown, 'the service to leave the bus');
    const gone = await desktop.post(notification('gone'));
    assert.equal(gone.shown, false);
    assert.match(
      gone.detail,
      /^no notification service on the session bus: org\.freedesktop\.Notifications is not running/,
    );

    // A server without the "actions" capability: no buttons are offered to it.
    server = await startFakeNotificationServer(bus.address, { capabilities: ['body'] });
    const back = await desktop.post(notification('after'));
    assert.equal(back.shown, true);
    assert.deepEqual(server.notifications.at(-1)!.actions, []);
    assert.equal(server.notifications.at(-1)!.id, 1, 'a new server numbers from 1');
    server.stop();
    server = undefined;
  });

  it('forgets the oldest notifications beyond its limit', async () => {
    server ??= await startFakeNotificationServer(bus.address);
    const desktop = new FreedesktopNotifier({ address: bus.address, maxTracked: 2 });
    open.push(desktop);
    for (const key of ['one', 'two', 'three']) await desktop.post(notification(key));
    const [one, two, three] = server.notifications.slice(-3).map((n) => n.id);
    const action = nextAction(desktop);
    server.invokeAction(one!, 'open');
    server.invokeAction(two!, 'open');
    assert.deepEqual(await action, ['two', 'open']);
    const last = nextAction(desktop);
    server.invokeAction(three!, 'snooze');
    assert.deepEqual(await last, ['three', 'snooze']);
  });

  it('closes its connection on dispose and leaves the bus and the service running', async () => {
    server ??= await startFakeNotificationServer(bus.address);
    const desktop = notifier();
    await desktop.post(notification('x'));
    const sender = server.notifications.at(-1)!.sender!;
    assert.equal(await nameHasOwner(server.connection, sender), true);

    desktop.dispose();
    await eventually(async () => !(await nameHasOwner(server!.connection, sender)), 'the notifier to leave the bus');
    assert.deepEqual(await desktop.post(notification('y')), {
      shown: false,
      detail: 'the desktop notifier is disposed',
    });
    assert.equal(bus.running, true);
    assert.equal(server.connection.closed, false);
    assert.equal((await notifier().post(notification('z'))).shown, true, 'the service still answers others');
  });
});
