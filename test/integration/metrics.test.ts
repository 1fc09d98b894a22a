import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDashboardFile } from '../../src/daemon/http/dashboardFile.js';
import { readScrape, sampleValue, type ParsedFamily } from '../unit/metricsFormat.js';
import { PROBE_APP, TestHome, until, type DaemonProcess, type EventWatcher } from '../support/daemonProcess.js';

const APP = 'com.test.probe';

/**
 * `GET /metrics` of a real daemon process, scraped as Prometheus would (Bearer token from
 * `<home>/metrics-token`), while the probe app is launched in the background and runs a task.
 */
describe('metrics endpoint, end to end', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let watcher: EventWatcher;
  let base: URL;
  let token: string;

  async function scrape(headers: Record<string, string> = { Authorization: `Bearer ${token}` }): Promise<Response> {
    return fetch(new URL('/metrics', base), { headers });
  }

  async function metrics(): Promise<Map<string, ParsedFamily>> {
    return readScrape(await scrape());
  }

  before(async () => {
    daemon = await home.startDaemon(['--option', 'appIdleTimeoutMs=1000']);
    watcher = await daemon.watch();
    const installed = await home.cli('install', PROBE_APP, '--json');
    assert.equal(installed.code, 0, installed.stderr);
    const dashboard = readDashboardFile(home.home);
    assert.ok(dashboard, 'the daemon serves its dashboard');
    base = new URL(dashboard.url);
    token = readFileSync(join(home.home, 'metrics-token'), 'utf8').trim();
  });

  after(async () => {
    await watcher?.[Symbol.asyncDispose]();
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('refuses a scrape without the token (401, with a code) or with a wrong one', async () => {
    const response = await scrape({});
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
    const body = (await response.json()) as { error: { code: string; field: string } };
    assert.deepEqual([body.error.code, body.error.field], ['unauthorized', 'Authorization']);
    assert.equal((await scrape({ Authorization: 'Bearer wrong' })).status, 401);
  });

  it(
    'counts a task run in a background launch: finished 1 with its outcome, a ' +
      'launch latency, and a queue depth for a waiting request',
    async () => {
      const submitted = await home.probe('submitRefresh', '500');
      assert.deepEqual(submitted.json(), { ok: true }, submitted.stderr);
      await watcher.next((event) => event.what === 'runUpdate' && event.state === 'finished', 'the refresh to finish');
      // The counters follow the commit the watcher saw; poll the endpoint until it has it (never a sleep).
      const families = await until('the finished counter to reach 1', async () => {
        const current = await metrics();
        return sampleValue(current, 'bgtasks_tasks_finished_total', {
          app: APP,
          kind: 'refresh',
          outcome: 'success',
        }) === 1
          ? current
          : undefined;
      });
      assert.equal(
        sampleValue(families, 'bgtasks_tasks_started_total', { app: APP, kind: 'refresh', launch: 'launched' }),
        1,
      );
      assert.ok(
        (sampleValue(families, 'bgtasks_launch_latency_seconds_count', { reason: 'background' }) ?? 0) >= 1,
        'a background launch was timed',
      );
      assert.ok((sampleValue(families, 'bgtasks_launch_latency_seconds_sum', { reason: 'background' }) ?? -1) >= 0);
      assert.equal(sampleValue(families, 'bgtasks_task_lateness_seconds_count', { kind: 'refresh' }), 1);
      assert.equal(sampleValue(families, 'bgtasks_app_launches_total', { app: APP, reason: 'background' }), 1);

      const [work] = (await home.probe('submitWork', '1', 'false', '3600000')).json<{ ok: boolean }[]>();
      assert.equal(work?.ok, true);
      const queued = await metrics();
      assert.equal(sampleValue(queued, 'bgtasks_queue_depth', { app: APP, kind: 'processing' }), 1);
      assert.equal(sampleValue(queued, 'bgtasks_queue_depth', { app: APP, kind: 'refresh' }), 0);
      const info = queued.get('bgtasks_info')?.samples[0];
      assert.equal(info?.labels.store_kind, 'sqlite');
      assert.equal(info?.value, 1);
    },
  );

  it("keeps the metrics token across a restart, so a scraper's credentials file stays good", async () => {
    await daemon[Symbol.asyncDispose]();
    await watcher[Symbol.asyncDispose]();
    daemon = await home.startDaemon();
    watcher = await daemon.watch();
    assert.equal(readFileSync(join(home.home, 'metrics-token'), 'utf8').trim(), token);
    base = new URL(readDashboardFile(home.home)!.url);
    const families = await metrics();
    assert.equal(
      sampleValue(families, 'bgtasks_queue_depth', { app: APP, kind: 'processing' }),
      1,
      'the pending request survived, and counters started again at 0',
    );
    assert.equal(
      sampleValue(families, 'bgtasks_tasks_finished_total', { app: APP, kind: 'refresh', outcome: 'success' }),
      undefined,
    );
  });
});
