import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { Sensors } from '../../src/conditions/sensors.js';
import { recordConditions, TRACE_FORMAT, type ConditionsTrace, type TraceSample } from '../../src/conditions/trace.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
} from '../../src/engine/conditions.js';
import { loadTrace, scriptedTimeline, TraceConditions, TraceError } from '../../src/testing/traceConditions.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';

const RECORDED = Date.UTC(2025, 5, 10, 8); // when the trace was recorded
const START = Date.UTC(2026, 0, 1); // the virtual clock's start
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function origins(origin: ConditionOrigin = 'sensor'): Record<ConditionName, ConditionOrigin> {
  return Object.fromEntries(CONDITION_NAMES.map((name) => [name, origin])) as Record<ConditionName, ConditionOrigin>;
}

function sample(offset: number, values: Partial<Conditions>): TraceSample {
  return {
    at: RECORDED + offset,
    conditions: { ...DEFAULT_CONDITIONS, network: 'online', ...values },
    origins: origins(),
  };
}

function trace(samples: TraceSample[], extra: Partial<ConditionsTrace> = {}): ConditionsTrace {
  return { format: TRACE_FORMAT, version: 1, startedAt: RECORDED, host: { platform: 'linux' }, samples, ...extra };
}

/** A day: on AC, unplugged at 09:00, offline 10:00-10:30, plugged in at 12:00. */
const DAY = trace(
  [
    sample(5, { power: 'ac', batteryLevel: 90 }),
    sample(1 * HOUR, { power: 'battery', batteryLevel: 89 }),
    sample(2 * HOUR, { power: 'battery', batteryLevel: 70, network: 'offline' }),
    sample(2 * HOUR + 30 * MINUTE, { power: 'battery', batteryLevel: 62, network: 'online' }),
    sample(4 * HOUR, { power: 'ac', batteryLevel: 40 }),
  ],
  { endedAt: RECORDED + 24 * HOUR },
);

function watch(clock: VirtualClock, source: TraceConditions) {
  const events: { at: number; power: string; network: string; batteryLevel: number | null }[] = [];
  source.onDidChange(({ conditions }) =>
    events.push({
      at: clock.now() - START,
      power: conditions.power,
      network: conditions.network,
      batteryLevel: conditions.batteryLevel,
    }),
  );
  return events;
}

describe('TraceConditions', () => {
  it('replays each change at its virtual time, in order, with one timer queued at a time', async () => {
    const clock = new VirtualClock({ start: START });
    const source = new TraceConditions(DAY, clock);
    const events = watch(clock, source);
    assert.equal(source.current().conditions.power, 'ac', 'the first sample is in force from the start');
    assert.equal(clock.pendingTimers, 1);
    assert.equal(source.nextChangeAt(), START + HOUR);
    assert.equal(source.endsAt, START + 24 * HOUR);

    await clock.advanceTo(source.endsAt);
    assert.deepEqual(events, [
      { at: 1 * HOUR, power: 'battery', network: 'online', batteryLevel: 89 },
      { at: 2 * HOUR, power: 'battery', network: 'offline', batteryLevel: 70 },
      { at: 2 * HOUR + 30 * MINUTE, power: 'battery', network: 'online', batteryLevel: 62 },
      { at: 4 * HOUR, power: 'ac', network: 'online', batteryLevel: 40 },
    ]);
    assert.equal(clock.pendingTimers, 0);
    assert.equal(source.nextChangeAt(), undefined);
    assert.equal(source.remainingSamples, 0);
    assert.equal(source.current().conditions.power, 'ac', 'after the last sample the conditions stay');
  });

  it('current() is the sample in force between samples, stamped with its time', async () => {
    const clock = new VirtualClock({ start: START });
    const source = new TraceConditions(DAY, clock);
    await clock.advanceBy(HOUR - 1);
    assert.equal(source.current().conditions.power, 'ac');
    await clock.advanceBy(1);
    assert.equal(source.current().conditions.power, 'battery');
    await clock.advanceBy(90 * MINUTE); // 02:30 after the start: 10:30 in the recording
    const snapshot = source.current();
    assert.equal(snapshot.conditions.network, 'online');
    assert.equal(snapshot.conditions.batteryLevel, 62);
    assert.equal(snapshot.readAt, START + 2 * HOUR + 30 * MINUTE);
    assert.deepEqual(snapshot.origins, origins());
    assert.ok(Object.isFrozen(snapshot) && Object.isFrozen(snapshot.conditions));
  });

  it('maps the trace to a given virtual start, applying at once what is already due', async () => {
    const clock = new VirtualClock({ start: START });
    // The recording's start was 3 h ago in virtual time: its first three changes are past.
    const source = new TraceConditions(DAY, clock, { start: START - 2 * HOUR - 45 * MINUTE });
    const events = watch(clock, source);
    assert.equal(source.current().conditions.batteryLevel, 62);
    assert.equal(source.current().readAt, START - 15 * MINUTE);
    assert.equal(source.remainingSamples, 1);
    await clock.runUntilIdle();
    assert.deepEqual(
      events.map((event) => event.at),
      [1 * HOUR + 15 * MINUTE],
    );

    // A start in the future holds the first sample until then.
    const later = new VirtualClock({ start: START });
    const delayed = new TraceConditions(DAY, later, { start: START + HOUR });
    const delayedEvents = watch(later, delayed);
    assert.equal(delayed.current().conditions.power, 'ac');
    await later.runUntilIdle();
    assert.deepEqual(
      delayedEvents.map((event) => event.at),
      [2 * HOUR, 3 * HOUR, 3 * HOUR + 30 * MINUTE, 5 * HOUR],
    );
  });

  it('applies samples sharing a time as one change, and follows elapsed time across a wall-clock jump', async () => {
    const clock = new VirtualClock({ start: START });
    const source = new TraceConditions(
      trace([
        sample(0, { power: 'ac' }),
        sample(MINUTE, { power: 'battery' }),
        sample(MINUTE, { power: 'battery', batteryLevel: 50 }),
        sample(2 * MINUTE, { network: 'offline' }),
      ]),
      clock,
    );
    const events = watch(clock, source);
    clock.jumpWallClock(HOUR);
    await clock.advanceBy(2 * MINUTE);
    assert.deepEqual(
      events.map((event) => [event.at - HOUR, event.batteryLevel, event.network]),
      [
        [MINUTE, 50, 'online'],
        [2 * MINUTE, null, 'offline'],
      ],
    );
  });

  it('costs one queued timer for a week of samples', async () => {
    const clock = new VirtualClock({ start: START });
    const samples: TraceSample[] = [];
    for (let index = 0; index < 7 * 24 * 12; index++)
      samples.push(sample(index * 5 * MINUTE, { cpuPressure: index % 2 ? 'fair' : 'nominal' }));
    const source = new TraceConditions(trace(samples), clock);
    let changes = 0;
    source.onDidChange(() => changes++);
    assert.equal(clock.pendingTimers, 1);
    await clock.advanceBy(24 * HOUR);
    assert.equal(clock.pendingTimers, 1);
    assert.equal(changes, 24 * 12);
    await clock.runUntilIdle();
    assert.equal(changes, samples.length - 1);
    assert.equal(clock.wakeups, samples.length - 1);
  });

  it('set() forces conditions on top of the replay until reset()', async () => {
    const clock = new VirtualClock({ start: START });
    const source = new TraceConditions(DAY, clock);
    const events = watch(clock, source);
    const forced = source.set({ power: 'battery', userActivity: 'active' });
    assert.equal(forced.conditions.power, 'battery');
    assert.equal(forced.origins.power, 'override');
    assert.equal(forced.conditions.idleSince, null);
    assert.equal(forced.origins.idleSince, 'override', 'a forced activity brings idleSince: null');
    assert.deepEqual(source.overrides(), { power: 'battery', userActivity: 'active', idleSince: null });
    assert.equal(events.length, 1);

    await clock.advanceBy(HOUR); // the unplug is masked by the override; the battery level still changes
    assert.deepEqual(
      events.map((event) => [event.at, event.power, event.batteryLevel]),
      [
        [0, 'battery', 90],
        [HOUR, 'battery', 89],
      ],
    );
    source.reset(['power']);
    assert.equal(events.length, 2, 'nothing changed: the trace says battery too');
    source.setOverrides({ network: 'offline' });
    assert.equal(source.current().conditions.network, 'offline');
    source.resetOverrides();
    assert.deepEqual(source.overrides(), {});
    assert.deepEqual(source.current().origins, origins());

    assert.throws(
      () => source.set({ power: 'solar' as never }),
      (error: unknown) => error instanceof TraceError && error.field === 'power',
    );
    assert.throws(
      () => source.set({ powr: 'ac' } as never),
      (error: unknown) => error instanceof TraceError && error.field === 'powr',
    );
  });

  it('dispose() cancels the timer and stops the events', async () => {
    const clock = new VirtualClock({ start: START });
    const source = new TraceConditions(DAY, clock);
    const events = watch(clock, source);
    await clock.advanceBy(HOUR);
    source.dispose();
    assert.equal(clock.pendingTimers, 0);
    await clock.advanceBy(24 * HOUR);
    assert.equal(events.length, 1);
    assert.equal(source.current().conditions.power, 'battery');
  });

  it(
    'a throwing listener fails the advance by default, but neither the other ' + 'listeners nor the replay stop',
    async () => {
      const clock = new VirtualClock({ start: START });
      const source = new TraceConditions(DAY, clock);
      source.onDidChange(() => {
        throw new Error('listener broke');
      });
      const events = watch(clock, source);
      await assert.rejects(clock.advanceBy(HOUR), /listener broke/);
      assert.equal(events.length, 1);
      await assert.rejects(clock.advanceBy(HOUR), /listener broke/);
      assert.equal(events.length, 2);

      const reported: unknown[] = [];
      const quiet = new VirtualClock({ start: START });
      const tolerant = new TraceConditions(DAY, quiet, { onListenerError: (error) => reported.push(error) });
      tolerant.onDidChange(() => {
        throw new Error('again');
      });
      await quiet.runUntilIdle();
      assert.equal(reported.length, 4);
    },
  );

  it('validates a hand-built trace', () => {
    const clock = new VirtualClock({ start: START });
    const bad = trace([sample(0, {}), sample(-1, {})]);
    assert.throws(
      () => new TraceConditions(bad, clock),
      (error: unknown) =>
        error instanceof TraceError && error.code === 'invalidTrace' && error.field === 'samples.1.at',
    );
  });

  it('replays what the recorder wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bgt-replay-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const out = join(dir, 'day.json');
    let next: Partial<Conditions> = { power: 'ac', network: 'online' };
    const sensors: Sensors = { read: () => Promise.resolve({ ...next }) };
    const recordClock = new VirtualClock({ start: RECORDED });
    const recording = recordConditions({
      sensors,
      clock: recordClock,
      pollIntervalMs: MINUTE,
      durationMs: 3 * HOUR,
      out,
    });
    // Changed just before the polls at 1 h and 2 h.
    await recordClock.advanceBy(HOUR - 1);
    next = { power: 'battery', batteryLevel: 80, network: 'online' };
    await recordClock.advanceBy(HOUR);
    next = { power: 'battery', batteryLevel: 80, network: 'offline' };
    await recordClock.advanceBy(HOUR + 1);
    await recording;

    const clock = new VirtualClock({ start: START });
    const source = new TraceConditions(await loadTrace(out), clock);
    const events = watch(clock, source);
    await clock.advanceTo(source.endsAt);
    assert.deepEqual(events, [
      { at: HOUR, power: 'battery', network: 'online', batteryLevel: 80 },
      { at: 2 * HOUR, power: 'battery', network: 'offline', batteryLevel: 80 },
    ]);
    assert.equal(source.endsAt, START + 3 * HOUR);
    assert.equal(source.current().origins.power, 'sensor');
    assert.equal(source.current().origins.thermalState, 'default');
  });
});

describe('scriptedTimeline', () => {
  it('changes the named conditions at each step, from the defaults', async () => {
    const clock = new VirtualClock({ start: START });
    const source = scriptedTimeline(clock, [
      { at: START + HOUR, conditions: { power: 'ac', network: 'online' } },
      { at: new Date(START + 2 * HOUR), conditions: { power: 'battery', batteryLevel: 80 } },
      { at: START + 3 * HOUR, conditions: { network: 'offline' } },
    ]);
    const events = watch(clock, source);
    assert.deepEqual(source.current().conditions, DEFAULT_CONDITIONS, 'the defaults before the first step');
    assert.deepEqual(source.current().origins, origins('default'));
    await clock.runUntilIdle();
    assert.deepEqual(events, [
      { at: HOUR, power: 'ac', network: 'online', batteryLevel: null },
      { at: 2 * HOUR, power: 'battery', network: 'online', batteryLevel: 80 },
      { at: 3 * HOUR, power: 'battery', network: 'offline', batteryLevel: 80 },
    ]);
    const { origins: last } = source.current();
    assert.equal(last.power, 'sensor');
    assert.equal(last.batteryLevel, 'sensor');
    assert.equal(last.thermalState, 'default');
  });

  it('applies at once the steps at or before now', () => {
    const clock = new VirtualClock({ start: START });
    const source = scriptedTimeline(clock, [
      { at: START - HOUR, conditions: { power: 'battery' } },
      { at: START, conditions: { lowPowerMode: true } },
      { at: START + HOUR, conditions: { power: 'ac' } },
    ]);
    assert.equal(source.current().conditions.power, 'battery');
    assert.equal(source.current().conditions.lowPowerMode, true);
    assert.equal(source.nextChangeAt(), START + HOUR);
    assert.deepEqual(scriptedTimeline(clock, []).current().conditions, DEFAULT_CONDITIONS);
  });

  it('names the step at fault', () => {
    const clock = new VirtualClock({ start: START });
    assert.throws(
      () =>
        scriptedTimeline(clock, [
          { at: START + HOUR, conditions: {} },
          { at: START, conditions: {} },
        ]),
      (error: unknown) => error instanceof TraceError && error.field === 'timeline.1.at',
    );
    assert.throws(
      () => scriptedTimeline(clock, [{ at: START, conditions: { thermalState: 'hot' as never } }]),
      (error: unknown) => error instanceof TraceError && error.field === 'timeline.0.conditions.thermalState',
    );
    assert.throws(
      () => scriptedTimeline(clock, [{ at: Number.NaN, conditions: {} }]),
      (error: unknown) => error instanceof TraceError && error.field === 'timeline.0.at',
    );
  });
});
