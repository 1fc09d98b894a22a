/**
 * Issue 17, item 4, in virtual time with scripted conditions: pressure stops a running task only when it
 * is sustained and not the system's own load, never on CPU under the server profile, a continued task
 * only at critical memory or heat; a stopped task says why and runs again when the pressure clears.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileSchedulingOptions } from '../../src/engine/options.js';
import { pressureFromConditions, pressureStop, pressureStopLabel } from '../../src/engine/policies/pressureStop.js';
import { DEFAULT_CONDITIONS } from '../../src/engine/conditions.js';
import type { TaskRun } from '../../src/engine/types.js';
import { APP, NO_EXTRAS, createHarness } from '../support/schedulerHarness.js';

const CLEANUP = 'com.example.feeds.cleanup';
const cleanup = {
  identifier: CLEANUP,
  kind: 'processing' as const,
  earliestBeginAt: null,
  requiresExternalPower: false,
  requiresNetworkConnectivity: false,
  ...NO_EXTRAS,
};

function run(kind: TaskRun['kind']): TaskRun {
  return { kind, forced: false } as TaskRun;
}

describe('pressureStop (pure)', () => {
  const device = compileSchedulingOptions({ profile: 'device' });
  const server = compileSchedulingOptions({ profile: 'server' });
  const cpu = (level: 'serious' | 'critical', ownCpuShare: number | null) => ({
    ...pressureFromConditions(DEFAULT_CONDITIONS),
    cpu: level,
    ownCpuShare,
  });

  it('never stops on CPU pressure under the server profile', () => {
    assert.equal(pressureStop(run('processing'), DEFAULT_CONDITIONS, cpu('critical', 0), server), null);
    assert.equal(
      pressureStop(run('processing'), DEFAULT_CONDITIONS, cpu('critical', 0), device)?.reason,
      'machineNeededCpu',
    );
  });

  it("does not stop for CPU pressure the system's own tasks make", () => {
    assert.equal(pressureStop(run('processing'), DEFAULT_CONDITIONS, cpu('critical', 0.9), device), null);
    assert.equal(
      pressureStop(run('processing'), DEFAULT_CONDITIONS, cpu('serious', 0.2), device)?.reason,
      'machineNeededCpu',
    );
  });

  it('stops a continued task only at critical memory pressure or heat', () => {
    const memory = (level: 'serious' | 'critical') => ({
      ...pressureFromConditions(DEFAULT_CONDITIONS),
      memory: level,
    });
    assert.equal(pressureStop(run('continued'), DEFAULT_CONDITIONS, cpu('critical', 0), device), null);
    assert.equal(pressureStop(run('continued'), DEFAULT_CONDITIONS, memory('serious'), device), null);
    assert.equal(
      pressureStop(run('continued'), { ...DEFAULT_CONDITIONS, thermalState: 'serious' }, memory('serious'), device),
      null,
    );
    assert.equal(
      pressureStop(run('continued'), DEFAULT_CONDITIONS, memory('critical'), device)?.reason,
      'systemPressure',
    );
    assert.equal(
      pressureStop(run('continued'), { ...DEFAULT_CONDITIONS, thermalState: 'critical' }, memory('serious'), device)
        ?.reason,
      'systemPressure',
    );
  });

  it('says what stopped the task, not that it ran out of time', () => {
    assert.equal(pressureStopLabel('machineNeededCpu'), 'stopped: the machine needed its CPU');
    assert.equal(pressureStopLabel('machineNeededMemory'), 'stopped: the machine needed its memory');
    assert.equal(pressureStopLabel('timeLimit'), null);
  });
});

describe('a task stopped by pressure (scheduler, virtual time)', () => {
  it('is recorded as stopped for the machine, and runs again when the pressure clears', async () => {
    await using h = await createHarness({ scheduling: { profile: 'device' } });
    const instance = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [cleanup]);
    await h.settle();
    const [task] = instance.delivered;
    h.scheduler.started(instance, [task!.taskId]);
    h.conditions.set({ memoryPressure: 'serious' });
    await h.settle();
    assert.deepEqual(instance.expired, [{ taskId: task!.taskId, reason: 'machineNeededMemory' }]);
    h.scheduler.completed(instance, [{ taskId: task!.taskId, success: false, reason: null, error: null }]);
    await h.settle();
    const [stopped] = await h.store.listRuns({ appId: APP.appId });
    assert.equal(stopped?.outcome, 'expired');
    assert.equal(stopped?.reason, 'machineNeededMemory');
    assert.equal(
      h.scheduler.pending(APP.appId)[0]?.blockers[0]?.reason,
      'memoryPressure',
      'pending again, held while the pressure lasts',
    );
    h.conditions.set({ memoryPressure: 'nominal' });
    await h.settle();
    assert.equal(instance.delivered.length, 2, 'run again once the pressure cleared');
  });

  it(
    'is not stopped by sustained CPU pressure its own tasks make, and is when the ' + "load is someone else's",
    async () => {
      let pressure = { cpu: 'critical' as const, memory: 'nominal' as const, io: 'nominal' as const, ownCpuShare: 0.9 };
      await using h = await createHarness({ scheduling: { profile: 'device' }, sustainedPressure: () => pressure });
      const instance = h.connect([CLEANUP]);
      await h.scheduler.submit(APP.appId, [cleanup]);
      await h.settle();
      const [task] = instance.delivered;
      h.scheduler.started(instance, [task!.taskId]);
      h.scheduler.recheckPressure(); // the daemon does this at each read of the sensors
      await h.settle();
      assert.deepEqual(instance.expired, [], '90 % of the busy CPU is our own tasks');
      pressure = { ...pressure, ownCpuShare: 0.2 };
      h.scheduler.recheckPressure();
      await h.settle();
      assert.deepEqual(instance.expired, [{ taskId: task!.taskId, reason: 'machineNeededCpu' }]);
    },
  );

  it('is not stopped by CPU pressure under the server profile', async () => {
    await using h = await createHarness({ scheduling: { profile: 'server' } });
    const instance = h.connect([CLEANUP]);
    await h.scheduler.submit(APP.appId, [cleanup]);
    await h.settle();
    h.scheduler.started(instance, [instance.delivered[0]!.taskId]);
    h.conditions.set({ cpuPressure: 'critical' });
    await h.settle();
    assert.deepEqual(instance.expired, []);
  });
});
