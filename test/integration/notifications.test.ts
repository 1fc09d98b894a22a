import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { readDashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { browserSkip, launchBrowser } from '../support/browser.js';
import { ROOT, TestHome, run, type DaemonProcess } from '../support/daemonProcess.js';
import {
  findDbusDaemon,
  startFakeNotificationServer,
  startPrivateSessionBus,
  type FakeNotificationServer,
  type PrivateSessionBus,
} from '../support/fakeNotificationServer.js';

/**
 * User notifications against a real daemon, a real app process, Debian's chromium and a real D-Bus
 * session bus with a notification server on it: the app asks, the person allows it in the dashboard, a
 * background task posts, the notification shows on the page (live) and on the desktop, and choosing its
 * action (on the page, then on the desktop) launches the app, which is handed the action.
 */
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'notify-task');
const APP = 'com.test.notify';
/** The dashboard part is skipped on a machine without chromium (never under CI): test/support/browser.ts. */
const BROWSER_SKIP = browserSkip();
const ARTIFACTS = join(ROOT, 'test-artifacts');
/** A failure guard for conditions the test waits for; never a timing assertion. */
const GUARD_MS = 20_000;

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(100);
  }
}

function lines(home: TestHome, file: string): Record<string, unknown>[] {
  const path = join(home.probeDir, file);
  return existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>)
    : [];
}

describe('notifications (real daemon, browser and desktop bus)', () => {
  const home = new TestHome();
  const dbus = findDbusDaemon();
  let bus: PrivateSessionBus | null = null;
  let desktop: FakeNotificationServer | null = null;
  let daemon: DaemonProcess;
  let browser: Browser;
  let page: Page;
  const savedBus = process.env.DBUS_SESSION_BUS_ADDRESS;

  before(async () => {
    if (dbus) {
      bus = await startPrivateSessionBus(dbus);
      desktop = await startFakeNotificationServer(bus.address);
      process.env.DBUS_SESSION_BUS_ADDRESS = bus.address; // the daemon's session bus
    }
    daemon = await home.startDaemon(['--option', 'appIdleTimeoutMs=300']);
    if (savedBus === undefined) delete process.env.DBUS_SESSION_BUS_ADDRESS;
    else process.env.DBUS_SESSION_BUS_ADDRESS = savedBus;
    assert.equal((await home.cli('install', APP_DIR)).code, 0);
    if (BROWSER_SKIP) return;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  });

  after(async () => {
    await browser?.close();
    await daemon?.[Symbol.asyncDispose]();
    await desktop?.stop();
    await bus?.stop();
    home.cleanup();
  });

  const notRunning = async (): Promise<true | undefined> => {
    const apps = JSON.parse((await home.cli('apps', '--json')).stdout) as { appId: string; running: boolean }[];
    return apps.find((app) => app.appId === APP)?.running === false ? true : undefined;
  };

  it(
    'the person allows the app in the dashboard; its background task posts; the ' +
      'page shows it; its action launches the app',
    { skip: BROWSER_SKIP },
    async () => {
      // Opened by the person, the app asks to post; it may not post until the person answers.
      const asked = await run(process.execPath, ['main.mjs'], {
        cwd: APP_DIR,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.equal(asked.code, 0, asked.stderr);
      assert.deepEqual(JSON.parse(asked.stdout), { authorization: 'notDetermined' });

      const dashboard = readDashboardFile(home.home)!;
      await page.goto(`${dashboard.url}?token=${dashboard.token}`);
      const ask = page.locator('#notifications .ask');
      await ask.waitFor({ timeout: GUARD_MS });
      assert.match(await ask.innerText(), /com\.test\.notify.*would like to send you notifications/);
      await ask.getByRole('button', { name: 'Allow', exact: true }).click();
      await until(
        'the answer kept',
        async () => JSON.parse((await home.cli('notifications', '--json')).stdout).requests.length === 0 || undefined,
      );
      await ask.waitFor({ state: 'detached', timeout: GUARD_MS });

      // A background task posts; the page shows it without a reload.
      assert.equal((await home.cli('run', APP, 'com.test.notify.report', '--kind', 'processing')).code, 0);
      const shown = page.locator('#notifications .notification', { hasText: 'Report ready' });
      await shown.waitFor({ timeout: GUARD_MS });
      assert.match(await shown.innerText(), /The nightly report has 3 new items/);
      const [posted] = lines(home, 'posted.jsonl');
      assert.ok(posted, 'the task posted');

      // The background launch goes idle and exits; choosing the action starts the app again for it.
      await until('the app to exit', notRunning);
      await shown.getByRole('button', { name: 'Open report' }).click();
      const [handed] = await until('the action handed to the app', () =>
        lines(home, 'actions.jsonl').length > 0 ? lines(home, 'actions.jsonl') : undefined,
      );
      assert.equal(handed!.notificationId, posted.id);
      assert.equal(handed!.actionId, 'open');
      assert.equal(handed!.launchReason, 'notificationAction');
      assert.notEqual(handed!.pid, posted.pid, 'a new process, launched for the action');
      await shown.getByText('You chose Open report').waitFor({ timeout: GUARD_MS });
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'notifications.png'), fullPage: true });

      const listed = JSON.parse((await home.cli('notifications', APP, '--json')).stdout) as {
        notifications: { state: string; actionId: string; handedAt: number | null }[];
      };
      assert.equal(listed.notifications[0]?.state, 'actioned');
      assert.notEqual(listed.notifications[0]?.handedAt, null);
    },
  );

  it(
    'shows the notification on the desktop, and an action chosen there reaches ' + 'the app',
    { skip: dbus ? false : 'no dbus-daemon on this machine' },
    async () => {
      const before = lines(home, 'actions.jsonl').length;
      // Without the browser test before it, the app asks when opened and the person allows it from the terminal.
      if (BROWSER_SKIP) {
        assert.equal(
          (
            await run(process.execPath, ['main.mjs'], {
              cwd: APP_DIR,
              env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
            })
          ).code,
          0,
        );
        assert.equal((await home.cli('notifications', 'allow', APP)).code, 0);
      }
      const shownBefore = new Set(desktop!.notifications.map((notification) => notification.id)); // the browser test's
      await until('the app to exit', notRunning);
      assert.equal((await home.cli('run', APP, 'com.test.notify.report', '--kind', 'processing')).code, 0);
      const call = await until('the desktop notification', () =>
        desktop!.notifications.find(
          (notification) => notification.summary === 'Report ready' && !shownBefore.has(notification.id),
        ),
      );
      assert.equal(call.appName, APP);
      assert.deepEqual(
        call.actions.filter((_, index) => index % 2 === 0),
        ['default', 'open', 'snooze'],
      );
      await until('the app to exit', notRunning);
      await desktop!.invokeAction(call.id, 'snooze');
      const handed = await until('the desktop action handed to the app', () => lines(home, 'actions.jsonl')[before]);
      assert.equal(handed.actionId, 'snooze');
      assert.equal(handed.launchReason, 'notificationAction');
    },
  );
});
