import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readDashboardFile, writeDashboardFile, type DashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { browserSkip, launchBrowser } from '../support/browser.js';
import { ROOT, TestHome, run, type DaemonProcess, type EventWatcher } from '../support/daemonProcess.js';

/**
 * The web dashboard against a real daemon, a real app and Debian's chromium (headless, driven by
 * playwright-core; test/support/browser.ts for a machine without it): the token and its checks, every
 * section drawn from the live stream, the switches,
 * and a continued task's progress bar rising until the person presses Cancel and the app's expiration
 * handler runs. A screenshot of the page is kept in test-artifacts/dashboard.png.
 */
const DASH_APP = join(ROOT, 'test', 'fixtures', 'apps', 'dash-export');
/**
 * The tests that drive the page are skipped on a machine without chromium (never under CI): test/support/browser.ts.
 */
const BROWSER_SKIP = browserSkip();
const ARTIFACTS = join(ROOT, 'test-artifacts');
/** A failure guard for conditions the test waits for; never a timing assertion. */
const GUARD_MS = 15_000;

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** node:http rather than fetch, which may not set Host. */
function call(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: <T>() => JSON.parse(text) as T }),
      );
    });
    req.once('error', reject);
    req.end(body);
  });
}

async function until<T>(probe: () => T | Promise<T>, description: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('web dashboard', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let watcher: EventWatcher;
  let dashboard: DashboardFile;
  let browser: Browser | undefined;
  let page: Page;
  let exporter: ChildProcess | null = null;
  /** Launched by the first test that drives the page, so that a missing browser (under CI) fails only those. */
  const openBrowser = async (): Promise<void> => {
    if (browser) return;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  };
  const bearer = (): Record<string, string> => ({ Authorization: `Bearer ${dashboard.token}` });

  before(async () => {
    daemon = await home.startDaemon(['--option', 'maxContinuedTasks=1', '--option', 'appIdleTimeoutMs=1000']);
    watcher = await daemon.watch();
    const installed = await home.cli('install', DASH_APP, '--json');
    assert.equal(installed.code, 0, installed.stderr);
    dashboard = readDashboardFile(home.home)!;
    assert.ok(dashboard, 'the daemon wrote run/dashboard.json');
  });

  after(async () => {
    exporter?.kill('SIGKILL');
    await browser?.close();
    await watcher?.[Symbol.asyncDispose]();
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('bgtasks dashboard prints the address with the token; status says where; the file is private', async () => {
    assert.equal(statSync(join(home.home, 'run', 'dashboard.json')).mode & 0o777, 0o600);
    assert.match(dashboard.token, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    const printed = await home.cli('dashboard', '--no-open', '--json');
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.json<{ url: string }>().url, `${dashboard.url}?token=${dashboard.token}`);
    const status = (await home.cli('status', '--json')).json<{ dashboard: { url: string } }>();
    assert.equal(status.dashboard.url, dashboard.url);
    assert.match(dashboard.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('bgtasks dashboard exits 3 when no daemon runs, even with a file left by one that stopped', async () => {
    const other = new TestHome();
    try {
      const none = await other.cli('dashboard', '--no-open');
      assert.equal(none.code, 3, none.stderr);
      assert.match(none.stderr, /daemonNotRunning/);
      writeDashboardFile(other.home, { ...dashboard, port: 1, url: 'http://127.0.0.1:1/' });
      const stale = await other.cli('dashboard', '--no-open', '--json');
      assert.equal(stale.code, 3, stale.stderr);
      assert.match(stale.stderr, /left from one that stopped/);
      assert.equal(stale.stdout, '', 'no address printed');
    } finally {
      other.cleanup();
    }
  });

  it('answers only with the token, only to its own Host and Origin, and checks every body', async () => {
    const { port } = dashboard;
    const missing = await call(port, 'GET', '/v1/snapshot');
    assert.equal(missing.status, 401);
    assert.equal(missing.json<{ error: { code: string } }>().error.code, 'unauthorized');
    assert.equal((await call(port, 'GET', '/v1/snapshot', { Authorization: 'Bearer wrong' })).status, 401);
    assert.equal((await call(port, 'GET', `/?token=not-${dashboard.token}`)).status, 401);
    assert.equal((await call(port, 'GET', '/app.js')).status, 401, "the page's files too");
    const rebound = await call(port, 'GET', '/v1/snapshot', { ...bearer(), Host: 'evil.example' });
    assert.ok(rebound.status === 421 || rebound.status === 403, `DNS rebinding refused, got ${rebound.status}`);
    const crossOrigin = await call(
      port,
      'POST',
      '/v1/switch',
      { ...bearer(), Origin: 'http://localhost:3000', 'Content-Type': 'application/json' },
      '{"enabled":true}',
    );
    assert.equal(crossOrigin.status, 403);
    const json = { ...bearer(), 'Content-Type': 'application/json' };
    const badBody = await call(port, 'POST', '/v1/switch', json, '{"enabled":"yes"}');
    assert.equal(badBody.status, 400);
    assert.deepEqual(
      { ...badBody.json<{ error: Record<string, unknown> }>().error, message: undefined },
      { code: 'invalidArgument', field: 'enabled', message: undefined },
    );
    assert.equal((await call(port, 'POST', '/v1/switch', json, '{"enabled":true,"extra":1}')).status, 400);
    assert.equal(
      (await call(port, 'POST', '/v1/switch', json, '{"enabled":')).json<{ error: { code: string } }>().error.code,
      'invalidJson',
    );
    const badApp = await call(port, 'POST', '/v1/apps/not%20an%20app!/enable', json);
    assert.equal(badApp.status, 400);
    assert.equal(badApp.json<{ error: { field: string } }>().error.field, 'appId');
    assert.equal(
      (await call(port, 'POST', '/v1/switch', json, JSON.stringify({ enabled: true, pad: 'x'.repeat(20_000) }))).status,
      413,
    );
    const unknownTask = await call(port, 'POST', '/v1/tasks/0190f0e2-0000-7000-8000-000000000000/cancel', json, '{}');
    assert.equal(unknownTask.status, 409);
    assert.equal(unknownTask.json<{ error: { code: string } }>().error.code, 'notRunning');
    const notQueued = await call(
      port,
      'POST',
      '/v1/apps/com.test.dash/queue/com.test.dash.export.none/cancel',
      json,
      '{}',
    );
    assert.equal(notQueued.status, 409);
    assert.equal(notQueued.json<{ error: { code: string } }>().error.code, 'notPending');
    const badIdentifier = await call(port, 'POST', '/v1/apps/com.test.dash/queue/not%20an%20id/cancel', json, '{}');
    assert.equal(badIdentifier.json<{ error: { field: string } }>().error.field, 'identifier');
    assert.equal((await call(port, 'GET', '/v1/switch', bearer())).status, 405);
    // Found by fuzzing: a request target that is no URL (the absolute form, cut short) threw out of the handler (a
    // 500).
    const notUrl = await call(port, 'GET', 'http://[::1', bearer());
    assert.equal(notUrl.status, 400);
    assert.deepEqual(
      { ...notUrl.json<{ error: Record<string, unknown> }>().error, message: undefined },
      { code: 'invalidArgument', field: 'url', message: undefined },
    );
    const snapshot = await call(port, 'GET', '/v1/snapshot', bearer());
    assert.equal(snapshot.status, 200);
    assert.deepEqual(Object.keys(snapshot.json()).sort(), [
      'apps',
      'at',
      'backgroundAppRefresh',
      'conditions',
      'daemonVersion',
      'notificationRequests',
      'notifications',
      'pending',
      'profile',
      'recent',
      'running',
    ]);
    const signIn = await call(port, 'GET', `/?token=${dashboard.token}`);
    assert.equal(signIn.status, 303);
    assert.equal(signIn.headers.location, '/');
    assert.match(String(signIn.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
  });

  it(
    'draws every section from the live stream, and its switches turn Background ' + 'App Refresh off and on',
    { skip: BROWSER_SKIP },
    async () => {
      await openBrowser();
      assert.equal((await home.cli('conditions', 'set', 'power=battery', 'batteryLevel=80')).code, 0);
      const work = await run(process.execPath, ['main.mjs', 'work'], {
        cwd: DASH_APP,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.deepEqual(work.json(), { refresh: { ok: true }, waiting: { ok: true } }, work.stderr);
      await page.goto(`${dashboard.url}?token=${dashboard.token}`);
      assert.equal(page.url(), dashboard.url, 'the token left the address bar');
      await page.locator('#live[data-state="live"]').waitFor({ timeout: GUARD_MS });
      for (const heading of ['Running', 'In line', 'Waiting', 'Last hour', 'Apps']) {
        assert.ok(
          await page.getByRole('heading', { name: new RegExp(`^${heading}`) }).isVisible(),
          `${heading} is shown`,
        );
      }
      await page.locator('#conditions .chip', { hasText: 'Battery · 80%' }).waitFor({ timeout: GUARD_MS });
      const waiting = page.locator('#pending li.request', { hasText: 'com.test.dash.work.power' });
      await waiting.locator('.reason', { hasText: 'Needs power' }).waitFor({ timeout: GUARD_MS });
      assert.match(await waiting.locator('.why').innerText(), /power/);
      await watcher.next(
        (event) => event.what === 'runUpdate' && event.state === 'finished' && event.outcome === 'success',
        'the refresh to run',
      );
      await page.locator('#history svg rect.run-success').first().waitFor({ timeout: GUARD_MS });

      const appSwitch = page.getByRole('switch', { name: 'Background App Refresh for com.test.dash' });
      assert.equal(await appSwitch.getAttribute('aria-checked'), 'true');
      await appSwitch.click();
      await until(
        async () =>
          (await call(dashboard.port, 'GET', '/v1/snapshot', bearer())).json<{ apps: { enabled: boolean }[] }>().apps[0]
            ?.enabled === false,
        'the app to be switched off',
      );
      await page.locator('#pending .reason', { hasText: 'Switched off for the app' }).waitFor({ timeout: GUARD_MS });
      await appSwitch.click();
      await until(
        async () =>
          (await call(dashboard.port, 'GET', '/v1/snapshot', bearer())).json<{ apps: { enabled: boolean }[] }>().apps[0]
            ?.enabled === true,
        'the app to be switched on',
      );

      const globalSwitch = page.locator('#global-switch');
      await globalSwitch.click();
      await until(
        async () =>
          (await home.cli('status', '--json')).json<{ backgroundAppRefresh: boolean }>().backgroundAppRefresh === false,
        'the global switch to be off',
      );
      await page.locator('#apps.refresh-off').waitFor({ timeout: GUARD_MS });
      assert.equal(await appSwitch.isDisabled(), true, 'app switches cannot act while the global one is off');
      await globalSwitch.click();
      await until(
        async () =>
          (await home.cli('status', '--json')).json<{ backgroundAppRefresh: boolean }>().backgroundAppRefresh === true,
        'the global switch to be on',
      );
      await saveScreenshot(page);
    },
  );

  it(
    'warns on the app card of a refresh that ran once and never again, and writes ' + 'every time as the page does',
    { skip: BROWSER_SKIP },
    async () => {
      await openBrowser();
      // The refresh of the test before ran, and its handler submitted nothing: the card says so, with the fix.
      const card = page.locator('#apps li.app', { hasText: 'com.test.dash' });
      const warning = card.locator('.app-warning');
      await warning.waitFor({ state: 'visible', timeout: GUARD_MS });
      const text = await warning.innerText();
      assert.match(
        text,
        /com\.test\.dash\.refresh ran once and will not run again: it has no interval, nothing is pending, and its handler did not submit it again while it ran \(last run \d{1,2}:\d{2}/,
      );
      assert.match(
        text,
        /Fix: submit the next request from the handler \(the Apple pattern\), or give the request an interval/,
      );

      const later = await run(process.execPath, ['main.mjs', 'later'], {
        cwd: DASH_APP,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.deepEqual(later.json<{ later: unknown }>().later, { ok: true }, later.stderr);
      const request = page.locator('#pending li.request', { hasText: 'com.test.dash.work.later' });
      await request.waitFor({ timeout: GUARD_MS });
      const due = /not before (.+?) \(in /.exec(await request.locator('.request-detail').innerText())?.[1];
      assert.ok(due, await request.innerText());
      assert.match(due, /\d{1,2}:\d{2}/, 'a clock time, with its day (it is tomorrow)');
      const why = await request.locator('.why').innerText();
      assert.equal(why, `its earliestBeginDate is ${due}`, 'the reason writes the time as the page does');
      const everything = await page.locator('main').innerText();
      assert.doesNotMatch(everything, /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/, 'no raw ISO time anywhere on the page');
      assert.equal((await home.cli('cancel', 'com.test.dash', 'com.test.dash.work.later')).code, 0);
    },
  );

  it(
    "shows a continued task's progress rising, and Cancel runs the app's " + 'expiration handler',
    { skip: BROWSER_SKIP },
    async () => {
      await openBrowser();
      exporter = spawn(process.execPath, ['main.mjs', 'export', '1', '2'], {
        cwd: DASH_APP,
        env: { ...process.env, BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
        stdio: 'ignore',
      });
      const card = page.locator('#running article.task', { hasText: 'video-1.mp4' });
      await card.waitFor({ timeout: GUARD_MS });
      assert.equal(await card.locator('.task-title').innerText(), 'Exporting');
      const bar = card.getByRole('progressbar');
      const value = async (): Promise<number> => Number(await bar.getAttribute('aria-valuenow'));
      const first = await until(async () => {
        const now = await value();
        return now >= 3 ? now : null;
      }, 'progress to be reported');
      await until(async () => (await value()) > first, 'the progress bar to rise');
      assert.match(await card.locator('.elapsed').innerText(), /elapsed/);
      // The second export waits in line behind the first (maxContinuedTasks=1).
      await page
        .locator('#queue li', { hasText: 'video-2.mp4' })
        .filter({ hasText: '#1' })
        .waitFor({ timeout: GUARD_MS });
      // Seconds-long runs are slivers on an hour's scale: the 5-minute range shows them as bars.
      await page.getByRole('button', { name: '5 min', exact: true }).click();
      await page.getByRole('heading', { name: /^Last 5 minutes/ }).waitFor({ timeout: GUARD_MS });
      await saveScreenshot(page);

      const taskId = await card.getAttribute('data-task-id');
      await card.getByRole('button', { name: 'Cancel Exporting' }).click();
      const expired = await until(
        () =>
          home
            .probeEvents()
            .find((event) => event.event === 'expired' && event.identifier === 'com.test.dash.export.1'),
        "the app's expiration handler",
      );
      assert.equal(expired.expirationReason, 'userCancelled');
      assert.ok(Number(expired.completed) >= first, 'cancelled part-way');
      await watcher.next(
        (event) => event.what === 'runUpdate' && event.taskId === taskId && event.state === 'finished',
        'the cancelled run to finish',
      );
      const history = (await home.cli('history', 'com.test.dash', 'com.test.dash.export.1', '--json')).json<
        { outcome: string; expirationReason: string }[]
      >();
      assert.equal(history[0]?.expirationReason, 'userCancelled');
      assert.ok(
        history[0]?.outcome === 'expired' || history[0]?.outcome === 'userCancelled',
        `outcome ${history[0]?.outcome}`,
      );
      await card.waitFor({ state: 'detached', timeout: GUARD_MS });
      await page.locator('#history svg rect.run-cancelled').waitFor({ timeout: GUARD_MS });
      // Its place freed, the next in line starts.
      await page.locator('#running article.task', { hasText: 'video-2.mp4' }).waitFor({ timeout: GUARD_MS });
    },
  );

  it(
    'draws a chain of tasks as a small graph: the running step, the one waiting ' + 'for it, an arrow between',
    { skip: BROWSER_SKIP },
    async () => {
      await openBrowser();
      // The chain app (docs/workflows.md): export -> convert -> upload; convert holds until released.
      const chainApp = join(ROOT, 'test', 'fixtures', 'apps', 'chain');
      assert.equal((await home.cli('install', chainApp, '--json')).code, 0);
      const submitted = await run(process.execPath, ['main.mjs', 'submit'], {
        cwd: chainApp,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.deepEqual(JSON.parse(submitted.stdout), [{ ok: true }, { ok: true }, { ok: true }], submitted.stderr);
      const graph = page.locator('#chains svg.chain[data-app="com.test.chain"]');
      await graph
        .locator('g.chain-node[data-identifier="com.test.chain.convert"][data-state="running"]')
        .waitFor({ timeout: GUARD_MS });
      await graph
        .locator('g.chain-node[data-identifier="com.test.chain.upload"][data-state="dependent"]')
        .waitFor({ timeout: GUARD_MS });
      assert.equal(
        await graph
          .locator('line.chain-edge[data-from="com.test.chain.convert"][data-to="com.test.chain.upload"]')
          .count(),
        1,
      );
      assert.match(
        String(await graph.getAttribute('aria-label')),
        /com\.test\.chain\.convert running, com\.test\.chain\.upload waits|com\.test\.chain\.upload waits, com\.test\.chain\.convert running/,
      );
      const waiting = page.locator('#pending li.request', { hasText: 'com.test.chain.upload' });
      assert.match(await waiting.locator('.why').innerText(), /waits for com\.test\.chain\.convert \(running\)/);
      await saveScreenshot(page);
      // Released, the chain runs to its end and leaves the section.
      writeFileSync(join(home.probeDir, 'release'), '');
      await page.locator('#chains.is-empty').waitFor({ timeout: GUARD_MS });
    },
  );
});

async function saveScreenshot(page: Page): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.evaluate('window.scrollTo(0, 0)'); // the sticky top bar belongs at the top of the picture
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dark.png'), fullPage: true });
  await page.emulateMedia({ colorScheme: 'light' });
}
