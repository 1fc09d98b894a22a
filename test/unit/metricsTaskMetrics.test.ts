/**
 * TaskMetrics on the shapes of batch the daemon commits that the end-to-end tests do not reach at will:
 * a run folded whole into its insert (group commit), forced runs, updates of runs it never saw, push
 * events, failed launches, and a person starting the app. The daemon's own batches are covered in
 * metricsDaemonMetrics.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricsRegistry } from '../../src/daemon/metrics/registry.js';
import { TaskMetrics } from '../../src/daemon/metrics/taskMetrics.js';
import type { HistoryEventInput, TaskRun } from '../../src/engine/types.js';
import { parseExposition, sampleValue } from './metricsFormat.js';

const T0 = 1_800_000_000_000;
const APP = 'com.example.a';

function run(fields: Partial<TaskRun> = {}): TaskRun {
  return {
    taskId: 't1',
    requestId: 'r1',
    appId: APP,
    identifier: `${APP}.refresh`,
    kind: 'refresh',
    requiresNetworkConnectivity: false,
    requiresExternalPower: false,
    requiresUnmeteredNetwork: false,
    recurrence: null,
    retry: null,
    attempt: 1,
    continued: null,
    earliestBeginAt: null,
    submittedAt: T0,
    eligibleAt: T0,
    forced: false,
    state: 'launching',
    launch: null,
    launchedAt: null,
    startedAt: null,
    deadlineAt: null,
    expiredAt: null,
    expirationReason: null,
    completedAt: null,
    outcome: null,
    reason: null,
    error: null,
    background: false,
    cpuMs: null,
    ...fields,
  };
}

function event(
  type: HistoryEventInput['type'],
  at: number,
  reason: string | null,
  detail: Record<string, unknown> | null = null,
): HistoryEventInput {
  return { at, appId: APP, identifier: null, taskId: null, type, reason, detail };
}

function setup() {
  const registry = new MetricsRegistry();
  const tasks = new TaskMetrics(registry);
  return { tasks, read: () => parseExposition(registry.render()) };
}

describe('TaskMetrics', () => {
  it('counts a run that group commit folded into its insert: started, late by start - earliestBegin, finished', () => {
    const { tasks, read } = setup();
    tasks.committed({
      insertRuns: [
        run({
          earliestBeginAt: T0 + 5_000,
          state: 'finished',
          launch: 'alreadyRunning',
          startedAt: T0 + 7_500,
          completedAt: T0 + 8_000,
          outcome: 'failure',
        }),
      ],
    });
    const families = read();
    assert.equal(
      sampleValue(families, 'bgtasks_tasks_started_total', { app: APP, kind: 'refresh', launch: 'alreadyRunning' }),
      1,
    );
    assert.equal(sampleValue(families, 'bgtasks_task_lateness_seconds_sum', { kind: 'refresh' }), 2.5);
    assert.equal(
      sampleValue(families, 'bgtasks_tasks_finished_total', { app: APP, kind: 'refresh', outcome: 'failure' }),
      1,
    );
    // The run is forgotten once finished: a repeated update of it counts nothing more.
    tasks.committed({ updateRuns: [{ taskId: 't1', state: 'finished', outcome: 'failure' }] });
    assert.equal(
      sampleValue(read(), 'bgtasks_tasks_finished_total', { app: APP, kind: 'refresh', outcome: 'failure' }),
      1,
    );
  });

  it(
    'leaves forced runs out of lateness, counts an early periodic start as 0 ' + 'late, and ignores runs it never saw',
    () => {
      const { tasks, read } = setup();
      tasks.committed({
        insertRuns: [
          run({ taskId: 'forced', forced: true, earliestBeginAt: T0 + 60_000 }),
          run({ taskId: 'early', earliestBeginAt: T0 + 60_000 }),
        ],
      });
      tasks.committed({
        updateRuns: [
          { taskId: 'forced', state: 'running', launch: 'alreadyRunning' },
          { taskId: 'early', state: 'running', launch: 'alreadyRunning' },
        ],
      });
      tasks.committed({
        updateRuns: [
          { taskId: 'forced', startedAt: T0 + 1_000 },
          { taskId: 'early', startedAt: T0 + 50_000 },
          { taskId: 'unknown', state: 'finished', outcome: 'interrupted' },
        ],
      });
      const families = read();
      assert.equal(
        sampleValue(families, 'bgtasks_tasks_started_total', { app: APP, kind: 'refresh', launch: 'alreadyRunning' }),
        2,
      );
      assert.equal(sampleValue(families, 'bgtasks_task_lateness_seconds_count', { kind: 'refresh' }), 1);
      assert.equal(sampleValue(families, 'bgtasks_task_lateness_seconds_sum', { kind: 'refresh' }), 0);
      assert.equal(families.get('bgtasks_tasks_finished_total')?.samples.length, 0);
    },
  );

  it('counts an expiration once, by its reason', () => {
    const { tasks, read } = setup();
    tasks.committed({ insertRuns: [run()] });
    tasks.committed({
      updateRuns: [{ taskId: 't1', state: 'expired', expiredAt: T0 + 30_000, expirationReason: 'timeLimit' }],
    });
    tasks.committed({
      updateRuns: [{ taskId: 't1', state: 'finished', outcome: 'terminatedAfterExpiration', expiredAt: T0 + 30_000 }],
    });
    const families = read();
    assert.equal(sampleValue(families, 'bgtasks_task_expirations_total', { app: APP, reason: 'timeLimit' }), 1);
    assert.equal(
      sampleValue(families, 'bgtasks_tasks_finished_total', {
        app: APP,
        kind: 'refresh',
        outcome: 'terminatedAfterExpiration',
      }),
      1,
    );
  });

  it(
    'times a launch to the connection of its pid, drops a failed one, and does ' + 'not time a person starting the app',
    () => {
      const { tasks, read } = setup();
      tasks.committed({ events: [event('launched', T0, 'background', { launchId: 'l1', pid: 100 })] });
      tasks.committed({ events: [event('launchFailed', T0 + 10_000, 'launchTimeout')] });
      tasks.committed({ events: [event('launched', T0 + 20_000, 'background', { launchId: 'l2', pid: 101 })] });
      tasks.committed({ events: [event('appConnected', T0 + 20_000, 'user', { pid: 555 })] }); // someone else's process
      tasks.committed({ events: [event('appConnected', T0 + 20_300, 'background', { pid: 101 })] });
      // no launch left to time
      tasks.committed({ events: [event('appConnected', T0 + 30_000, 'background', { pid: 101 })] });
      const families = read();
      assert.equal(sampleValue(families, 'bgtasks_app_launches_total', { app: APP, reason: 'background' }), 2);
      assert.equal(
        sampleValue(families, 'bgtasks_app_launch_failures_total', { app: APP, reason: 'launchTimeout' }),
        1,
      );
      assert.equal(sampleValue(families, 'bgtasks_launch_latency_seconds_count', { reason: 'background' }), 1);
      assert.equal(sampleValue(families, 'bgtasks_launch_latency_seconds_sum', { reason: 'background' }), 0.3);
    },
  );

  it('counts pushes by event, and the pushes an uninstall fails', () => {
    const { tasks, read } = setup();
    const push = (reason: string) => ({
      ...event('push', T0, reason, { pushId: 'p' }),
      identifier: 'bgtasks.remote-notification',
    });
    tasks.committed({
      events: [
        push('received'),
        push('received'),
        push('collapsed'),
        push('redelivery'),
        push('delivered'),
        push('somethingNew'),
      ],
    });
    tasks.committed({
      deleteApps: [APP],
      updatePushes: [
        { pushId: 'p2', state: 'failed', reason: 'uninstalled' },
        { pushId: 'p3', state: 'failed', reason: 'uninstalled' },
      ],
    });
    const families = read();
    const count = (name: string) => sampleValue(families, 'bgtasks_pushes_total', { app: APP, event: name });
    assert.deepEqual(['received', 'collapsed', 'redelivered', 'delivered', 'failed'].map(count), [2, 1, 1, 1, 2]);
    assert.equal(families.get('bgtasks_pushes_total')?.samples.length, 5, 'an unknown push event makes no series');
  });
});
