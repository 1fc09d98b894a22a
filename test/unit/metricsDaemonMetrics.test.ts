/**
 * The daemon's metrics, end to end in one process and in virtual time: the real daemon (store, writer,
 * scheduler, HTTP listener, the metrics wired as in production) on a virtual clock, with an app run by
 * the testing kit's in-process launcher, scraped over real HTTP with the metrics token. Virtual time
 * makes lateness and launch latency exact.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Sensors } from '../../src/conditions/sensors.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { metricsTokenPath } from '../../src/daemon/metrics/metricsToken.js';
import type { RequestInput } from '../../src/protocol/messages.js';
import type { BGTaskScheduler } from '../../src/sdk/index.js';
import { InProcessLauncher, installTestApp } from '../../src/testing/inProcessApps.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';
import { readScrape, sampleValue, type ParsedFamily } from './metricsFormat.js';

const T0 = Date.UTC(2026, 0, 5, 9, 0, 0);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const APP = 'com.example.metrics';
const REFRESH = 'com.example.metrics.refresh';
const INDEX = 'com.example.metrics.index';
const SLOW = 'com.example.metrics.slow';
const quietLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
} as never;
const sensors: Sensors = { read: async () => ({ power: 'ac', network: 'online' }) };

/** The app: a refresh and an index that finish at once, and a slow task that ends only when expired. */
function main(scheduler: BGTaskScheduler): void {
  scheduler.register(REFRESH, async () => undefined);
  scheduler.register(INDEX, async () => undefined);
  scheduler.register(
    SLOW,
    (task) =>
      new Promise<void>((_resolve, reject) =>
        task.signal.addEventListener('abort', () => reject(new Error('expired')), { once: true }),
      ),
  );
}

function request(
  identifier: string,
  kind: 'refresh' | 'processing',
  earliestBeginAt: number,
  requiresExternalPower = false,
): RequestInput {
  return {
    identifier,
    kind,
    earliestBeginAt,
    requiresNetworkConnectivity: false,
    requiresExternalPower,
    requiresUnmeteredNetwork: false,
    interval: null,
    tolerance: null,
    retry: null,
    continued: null,
  };
}

async function turns(count = 3): Promise<void> {
  for (let index = 0; index < count; index++) await new Promise((resolve) => setImmediate(resolve));
}

describe('DaemonMetrics (the daemon on a virtual clock)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-metrics-'));
  const home = join(dir, 'h');
  let daemon: Daemon;
  let clock: VirtualClock;

  async function settle(): Promise<void> {
    for (let round = 0; round < 3; round++) {
      await turns(1);
      await daemon?.writer.drain();
    }
  }

  async function scrape(
    headers: Record<string, string> = {
      Authorization: `Bearer ${readFileSync(metricsTokenPath(home), 'utf8').trim()}`,
    },
    method = 'GET',
  ): Promise<Response> {
    await settle();
    return fetch(new URL('/metrics', daemon.dashboard!.url), { method, headers });
  }

  async function metrics(): Promise<Map<string, ParsedFamily>> {
    return readScrape(await scrape());
  }

  before(async () => {
    clock = new VirtualClock({ start: T0, settle: () => settle() });
    const installed = installTestApp(
      {
        manifest: {
          appId: APP,
          permittedIdentifiers: [REFRESH, INDEX, SLOW],
          backgroundModes: ['fetch', 'processing'],
        },
        main,
      },
      T0,
    );
    const launcher = new InProcessLauncher({
      clock,
      log: { info: () => undefined, warn: () => undefined, error: () => undefined },
      daemonVersion: 'test',
      services: () => ({ scheduler: daemon.scheduler, notifications: daemon.notifications! }),
      app: (appId) => (appId === APP ? installed : undefined),
      onLog: () => undefined,
    });
    daemon = await Daemon.start(
      {
        home,
        sensorPollIntervalMs: HOUR,
        scheduling: { profile: 'server', backgroundLaunchesPerDay: 10, appIdleTimeoutMs: 1_000 },
      },
      { clock, sensors, launcher, logger: quietLogger, cpuMeter: null, desktop: null },
    );
    await daemon.scheduler.installApp(installed.record, {
      at: T0,
      appId: APP,
      identifier: null,
      taskId: null,
      type: 'installed',
      reason: null,
      detail: null,
    });
  });

  after(async () => {
    await daemon?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a stable metrics token in <home>/metrics-token, 0600, and asks for it', async () => {
    const file = metricsTokenPath(home);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(readFileSync(file, 'utf8').trim().length >= 32);
    const none = await scrape({});
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string; field: string } }).error.code, 'unauthorized');
    assert.equal((await scrape({ Authorization: 'Bearer not-the-token-at-all-000000000000' })).status, 401);
    const post = await scrape(undefined, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET');
    assert.equal(((await post.json()) as { error: { code: string } }).error.code, 'methodNotAllowed');
    // The metrics token opens /metrics only, never the dashboard's API.
    const api = await fetch(new URL('/v1/snapshot', daemon.dashboard!.url), {
      headers: { Authorization: `Bearer ${readFileSync(metricsTokenPath(home), 'utf8').trim()}` },
    });
    assert.equal(api.status, 401);
  });

  it(
    "counts a background launch, its latency, the task's lateness and its " + 'outcome, with exact virtual values',
    async () => {
      await daemon.scheduler.submit(APP, [request(REFRESH, 'refresh', T0 + MINUTE)]);
      let families = await metrics();
      assert.equal(sampleValue(families, 'bgtasks_queue_depth', { app: APP, kind: 'refresh' }), 1);
      assert.equal(sampleValue(families, 'bgtasks_queue_depth', { app: APP, kind: 'processing' }), 0);
      await clock.advanceTo(T0 + MINUTE);
      families = await metrics();
      assert.equal(sampleValue(families, 'bgtasks_queue_depth', { app: APP, kind: 'refresh' }), 0);
      assert.equal(sampleValue(families, 'bgtasks_app_launches_total', { app: APP, reason: 'background' }), 1);
      assert.equal(sampleValue(families, 'bgtasks_launch_latency_seconds_count', { reason: 'background' }), 1);
      // In-process apps connect in no virtual time: the launch took exactly 0 s, and the task started on time.
      assert.equal(sampleValue(families, 'bgtasks_launch_latency_seconds_sum', { reason: 'background' }), 0);
      assert.equal(
        sampleValue(families, 'bgtasks_tasks_started_total', { app: APP, kind: 'refresh', launch: 'launched' }),
        1,
      );
      assert.equal(sampleValue(families, 'bgtasks_task_lateness_seconds_sum', { kind: 'refresh' }), 0);
      assert.equal(
        sampleValue(families, 'bgtasks_tasks_finished_total', { app: APP, kind: 'refresh', outcome: 'success' }),
        1,
      );
    },
  );

  it(
    'measures a task held for power as late by exactly the time it waited, and ' + 'shows it queued meanwhile',
    async () => {
      assert.equal(
        (
          (await daemon.control.run('conditions.set', { assignments: ['power=battery'] })) as {
            conditions: { power: string };
          }
        ).conditions.power,
        'battery',
      );
      await daemon.scheduler.submit(APP, [request(INDEX, 'processing', T0 + 2 * MINUTE, true)]);
      await clock.advanceTo(T0 + 2 * HOUR);
      let families = await metrics();
      assert.equal(sampleValue(families, 'bgtasks_queue_depth', { app: APP, kind: 'processing' }), 1, 'held for power');
      await daemon.control.run('conditions.set', { assignments: ['power=ac'] });
      await clock.advanceBy(0);
      families = await metrics();
      assert.equal(sampleValue(families, 'bgtasks_queue_depth', { app: APP, kind: 'processing' }), 0);
      assert.equal(sampleValue(families, 'bgtasks_task_lateness_seconds_count', { kind: 'processing' }), 1);
      assert.equal(
        sampleValue(families, 'bgtasks_task_lateness_seconds_sum', { kind: 'processing' }),
        (2 * HOUR - 2 * MINUTE) / 1000,
      );
      assert.equal(
        sampleValue(families, 'bgtasks_task_lateness_seconds_bucket', { kind: 'processing', le: '3600' }),
        0,
      );
      assert.equal(
        sampleValue(families, 'bgtasks_task_lateness_seconds_bucket', { kind: 'processing', le: '14400' }),
        1,
      );
      assert.equal(
        sampleValue(families, 'bgtasks_tasks_finished_total', { app: APP, kind: 'processing', outcome: 'success' }),
        1,
      );
      assert.equal(
        sampleValue(families, 'bgtasks_launch_latency_seconds_count', { reason: 'background' }),
        2,
        'the idle app was stopped in between, and launched again',
      );
    },
  );

  it(
    'counts an expiration by reason, shows the run while it runs, and reports the ' +
      'launch budget as `bgtasks apps` does',
    async () => {
      await daemon.scheduler.submit(APP, [request(SLOW, 'refresh', clock.now())]);
      await clock.advanceBy(0);
      let families = await metrics();
      assert.equal(sampleValue(families, 'bgtasks_tasks_running', { app: APP }), 1);
      assert.equal(daemon.scheduler.expireNow(APP, SLOW), 1);
      await clock.advanceBy(0);
      families = await metrics();
      assert.equal(sampleValue(families, 'bgtasks_task_expirations_total', { app: APP, reason: 'manual' }), 1);
      assert.equal(
        sampleValue(families, 'bgtasks_tasks_finished_total', { app: APP, kind: 'refresh', outcome: 'expired' }),
        1,
      );
      assert.equal(sampleValue(families, 'bgtasks_tasks_running', { app: APP }), 0);
      const [app] = (await daemon.control.run('apps', {})) as {
        usage: { launches: { used: number; limit: number } };
      }[];
      assert.equal(app!.usage.launches.limit, 10);
      assert.equal(
        sampleValue(families, 'bgtasks_budget_used', { app: APP, budget: 'launches' }),
        app!.usage.launches.used,
      );
      assert.equal(sampleValue(families, 'bgtasks_budget_limit', { app: APP, budget: 'launches' }), 10);
      assert.equal(
        sampleValue(families, 'bgtasks_budget_used_ratio', { app: APP, budget: 'launches' }),
        app!.usage.launches.used / 10,
      );
      const { version } = (await daemon.control.run('status', {})) as { version: string };
      assert.equal(
        sampleValue(families, 'bgtasks_info', { version, store_kind: 'sqlite', profile: 'server', node: '' }),
        1,
      );
      assert.equal(sampleValue(families, 'bgtasks_daemon_start_time_seconds'), T0 / 1000);
    },
  );

  it('answers 404 metricsDisabled and makes no token file when metrics.enabled is false', async () => {
    const otherHome = join(dir, 'off');
    const off = await Daemon.start(
      { home: otherHome, sensorPollIntervalMs: HOUR, metrics: { enabled: false } },
      { clock: new VirtualClock({ start: T0 }), sensors, logger: quietLogger, cpuMeter: null, desktop: null },
    );
    try {
      const response = await fetch(new URL('/metrics', off.dashboard!.url));
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { error: { code: string } }).error.code, 'metricsDisabled');
      assert.equal(existsSync(metricsTokenPath(otherHome)), false);
    } finally {
      await off.close();
    }
  });
});
