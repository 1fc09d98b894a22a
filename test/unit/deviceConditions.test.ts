import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { DeviceConditions, type DeviceConditionsOptions } from '../../src/conditions/deviceConditions.js';
import { createSystemSensors, type Sensors } from '../../src/conditions/sensors.js';
import type { Disposable } from '../../src/engine/clock.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
  type ConditionsSnapshot,
} from '../../src/engine/conditions.js';
import { flushMicrotasks, VirtualClock } from '../../src/testing/virtualClock.js';

const INTERVAL = 1_000;

/** Every condition: the defaults with `values` on top. */
function all(values: Partial<Conditions>): Conditions {
  return { ...DEFAULT_CONDITIONS, ...values };
}

/** Every origin: 'default' except the ones given. */
function originsOf(values: Partial<Record<ConditionName, ConditionOrigin>>): Record<ConditionName, ConditionOrigin> {
  return Object.fromEntries(CONDITION_NAMES.map((name) => [name, values[name] ?? 'default'])) as Record<
    ConditionName,
    ConditionOrigin
  >;
}

/** Sensors that answer what the test last scripted: a reading, an error to reject with, or a pending promise. */
class ScriptedSensors implements Sensors {
  next: Partial<Conditions> | Error = {};
  reads = 0;
  read(): Promise<Partial<Conditions>> {
    this.reads++;
    const next = this.next;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve({ ...next });
  }
}

/** Scripted sensors with change events the test fires by hand. */
class WatchableSensors extends ScriptedSensors {
  watches = 0;
  disposed = 0;
  readsAtWatch = -1;
  onChange: (() => void) | undefined;
  onError: ((error: unknown) => void) | undefined;
  watch(onChange: () => void, onError?: (error: unknown) => void): Disposable {
    this.watches++;
    this.readsAtWatch = this.reads;
    this.onChange = onChange;
    this.onError = onError;
    return { dispose: () => void this.disposed++ };
  }
}

function setup(options: Partial<DeviceConditionsOptions> = {}) {
  const clock = new VirtualClock();
  const sensors = new ScriptedSensors();
  const conditions = new DeviceConditions({ clock, sensors, pollIntervalMs: INTERVAL, ...options });
  const events: ConditionsSnapshot[] = [];
  conditions.onDidChange((snapshot) => events.push(snapshot));
  return { clock, sensors, conditions, events };
}

describe('DeviceConditions', () => {
  it('validates pollIntervalMs with a TypeError naming the option', () => {
    const clock = new VirtualClock();
    const sensors = new ScriptedSensors();
    for (const bad of [99, 0, -1, Number.NaN, Number.POSITIVE_INFINITY, '5000' as unknown as number]) {
      assert.throws(() => new DeviceConditions({ clock, sensors, pollIntervalMs: bad }), {
        name: 'TypeError',
        message: /pollIntervalMs/,
      });
    }
    assert.doesNotThrow(() => new DeviceConditions({ clock, sensors, pollIntervalMs: 100 }).dispose());
    assert.doesNotThrow(() => new DeviceConditions({ clock, sensors }).dispose());
  });

  it('reports the defaults before the first read', () => {
    const { clock, conditions } = setup();
    assert.deepEqual(conditions.current(), {
      conditions: all({ power: 'unknown', batteryLevel: null, network: 'unknown' }),
      origins: originsOf({ power: 'default', batteryLevel: 'default', network: 'default' }),
      readAt: clock.now(),
    });
  });

  it('reads the sensors on start; fields the sensors leave out keep the default origin', async () => {
    const { clock, sensors, conditions, events } = setup();
    sensors.next = { network: 'online' };
    await clock.advanceBy(250);
    await conditions.start();
    assert.equal(sensors.reads, 1);
    assert.deepEqual(conditions.current(), {
      conditions: all({ power: 'unknown', batteryLevel: null, network: 'online' }),
      origins: originsOf({ power: 'default', batteryLevel: 'default', network: 'sensor' }),
      readAt: clock.now(),
    });
    assert.equal(events.length, 1);
    conditions.dispose();
  });

  it('picks up a change after virtual time advances by the poll interval', async () => {
    const { clock, sensors, conditions, events } = setup();
    sensors.next = { power: 'ac', batteryLevel: 90, network: 'online' };
    await conditions.start();
    const firstReadAt = conditions.current().readAt;

    sensors.next = { power: 'battery', batteryLevel: 89, network: 'online' };
    await clock.advanceBy(INTERVAL - 1);
    assert.equal(conditions.current().conditions.power, 'ac');
    assert.equal(sensors.reads, 1);

    await clock.advanceBy(1);
    assert.equal(sensors.reads, 2);
    assert.deepEqual(conditions.current().conditions, all({ power: 'battery', batteryLevel: 89, network: 'online' }));
    assert.equal(conditions.current().readAt, firstReadAt + INTERVAL);
    assert.deepEqual(
      events.map((event) => event.conditions.power),
      ['ac', 'battery'],
    );

    // Re-armed after every read: one timer queued, one read per interval.
    await clock.advanceBy(3 * INTERVAL);
    assert.equal(sensors.reads, 5);
    assert.equal(clock.pendingTimers, 1);
    conditions.dispose();
  });

  it('calling start twice starts one poll loop', async () => {
    const { clock, sensors, conditions } = setup();
    const first = conditions.start();
    assert.equal(conditions.start(), first);
    await first;
    await clock.advanceBy(INTERVAL);
    assert.equal(sensors.reads, 2);
    assert.equal(clock.pendingTimers, 1);
    conditions.dispose();
  });

  it('does not fire when a read finds nothing changed, but still updates readAt', async () => {
    const { clock, sensors, conditions, events } = setup();
    sensors.next = { power: 'ac', batteryLevel: null, network: 'online' };
    await conditions.start();
    assert.equal(events.length, 1);
    await clock.advanceBy(5 * INTERVAL);
    assert.equal(sensors.reads, 6);
    assert.equal(events.length, 1);
    assert.equal(conditions.current().readAt, clock.now());
    conditions.dispose();
  });

  it('lets overrides win with origin override, and fires before setOverrides returns', async () => {
    const { sensors, conditions, events } = setup();
    sensors.next = { power: 'ac', batteryLevel: 80, network: 'online' };
    await conditions.start();
    events.length = 0;

    const snapshot = conditions.setOverrides({ power: 'battery', batteryLevel: 15 });
    assert.equal(events.length, 1);
    assert.equal(events[0], snapshot);
    assert.equal(conditions.current(), snapshot);
    assert.deepEqual(snapshot.conditions, all({ power: 'battery', batteryLevel: 15, network: 'online' }));
    assert.deepEqual(snapshot.origins, originsOf({ power: 'override', batteryLevel: 'override', network: 'sensor' }));

    // Merged into the existing overrides, not replacing them.
    conditions.setOverrides({ network: 'offline' });
    assert.deepEqual(conditions.overrides(), { power: 'battery', batteryLevel: 15, network: 'offline' });
    assert.equal(events.length, 2);
    conditions.dispose();
  });

  it('keeps overrides in force across polls', async () => {
    const { clock, sensors, conditions } = setup({ overrides: { network: 'offline' } });
    sensors.next = { network: 'online' };
    await conditions.start();
    await clock.advanceBy(2 * INTERVAL);
    assert.equal(conditions.current().conditions.network, 'offline');
    assert.equal(conditions.current().origins.network, 'override');
    conditions.dispose();
  });

  it('restores the sensor value (or the default) on reset', async () => {
    const { sensors, conditions, events } = setup();
    sensors.next = { power: 'ac', network: 'online' };
    await conditions.start();
    conditions.setOverrides({ power: 'battery', network: 'offline', batteryLevel: 15 });
    events.length = 0;

    let snapshot = conditions.resetOverrides(['power']);
    assert.equal(events.length, 1);
    assert.deepEqual(snapshot.conditions, all({ power: 'ac', batteryLevel: 15, network: 'offline' }));
    assert.deepEqual(snapshot.origins, originsOf({ power: 'sensor', batteryLevel: 'override', network: 'override' }));
    assert.deepEqual(conditions.overrides(), { network: 'offline', batteryLevel: 15 });

    snapshot = conditions.resetOverrides();
    assert.equal(events.length, 2);
    assert.deepEqual(snapshot.conditions, all({ power: 'ac', batteryLevel: null, network: 'online' }));
    assert.deepEqual(snapshot.origins, originsOf({ power: 'sensor', batteryLevel: 'default', network: 'sensor' }));
    assert.deepEqual(conditions.overrides(), {});

    // Nothing left to reset: no event.
    conditions.resetOverrides();
    conditions.resetOverrides([]);
    assert.equal(events.length, 2);
    conditions.dispose();
  });

  it('does not fire when only an origin changes', async () => {
    const { sensors, conditions, events } = setup();
    sensors.next = { power: 'ac' };
    await conditions.start();
    events.length = 0;
    const snapshot = conditions.setOverrides({ power: 'ac' });
    assert.equal(events.length, 0);
    assert.equal(snapshot.origins.power, 'override');
    assert.equal(conditions.current().origins.power, 'override');
    conditions.dispose();
  });

  it('returns copies of the overrides and frozen snapshots', () => {
    const { conditions } = setup({ overrides: { power: 'battery' } });
    const copy = conditions.overrides() as { power?: string };
    copy.power = 'ac';
    assert.deepEqual(conditions.overrides(), { power: 'battery' });
    assert.ok(Object.isFrozen(conditions.current()));
    assert.ok(Object.isFrozen(conditions.current().conditions));
    assert.ok(Object.isFrozen(conditions.current().origins));
  });

  it('ignores undefined and unknown keys in overrides', () => {
    const { conditions, events } = setup();
    conditions.setOverrides({ power: undefined, thermal: 'hot' } as Partial<Conditions>);
    assert.deepEqual(conditions.overrides(), {});
    assert.equal(events.length, 0);
  });

  it('keeps the other listeners and the polling going when a listener throws', async () => {
    const errors: unknown[] = [];
    const clock = new VirtualClock();
    const sensors = new ScriptedSensors();
    const conditions = new DeviceConditions({
      clock,
      sensors,
      pollIntervalMs: INTERVAL,
      onListenerError: (error) => errors.push(error),
    });
    const boom = new Error('listener bug');
    conditions.onDidChange(() => {
      throw boom;
    });
    const seen: string[] = [];
    conditions.onDidChange((snapshot) => seen.push(snapshot.conditions.network));

    sensors.next = { network: 'online' };
    await conditions.start();
    sensors.next = { network: 'offline' };
    await clock.advanceBy(INTERVAL);
    sensors.next = { network: 'online' };
    await clock.advanceBy(INTERVAL);

    assert.deepEqual(seen, ['online', 'offline', 'online']);
    assert.deepEqual(errors, [boom, boom, boom]);
    assert.equal(clock.pendingTimers, 1);
    conditions.dispose();
  });

  it('survives an onListenerError hook that throws too', async () => {
    const clock = new VirtualClock();
    const conditions = new DeviceConditions({
      clock,
      sensors: new ScriptedSensors(),
      onListenerError: () => {
        throw new Error('hook bug');
      },
    });
    conditions.onDidChange(() => {
      throw new Error('listener bug');
    });
    let heard = 0;
    conditions.onDidChange(() => heard++);
    assert.doesNotThrow(() => conditions.setOverrides({ power: 'battery' }));
    assert.equal(heard, 1);
  });

  it('keeps the previous values when a sensor read rejects or throws, and keeps polling', async () => {
    const sensorErrors: unknown[] = [];
    const { clock, sensors, conditions, events } = setup({ onSensorError: (error) => sensorErrors.push(error) });
    sensors.next = { power: 'battery', batteryLevel: 40, network: 'online' };
    await conditions.start();
    const before = conditions.current();

    const failure = new Error('sysfs went away');
    sensors.next = failure;
    await clock.advanceBy(INTERVAL);
    assert.equal(conditions.current(), before);
    assert.deepEqual(sensorErrors, [failure]);
    assert.equal(events.length, 1);

    sensors.read = () => {
      throw new Error('synchronous bug');
    };
    await clock.advanceBy(INTERVAL);
    assert.equal(conditions.current(), before);
    assert.equal(sensorErrors.length, 2);

    sensors.read = ScriptedSensors.prototype.read;
    sensors.next = { power: 'ac', batteryLevel: 41, network: 'online' };
    await clock.advanceBy(INTERVAL);
    assert.equal(conditions.current().conditions.power, 'ac');
    assert.equal(events.length, 2);
    conditions.dispose();
  });

  it('treats a sensor resolving a non-object as a failed read', async () => {
    const errors: unknown[] = [];
    const sensors: Sensors = { read: async () => null as unknown as Partial<Conditions> };
    const conditions = new DeviceConditions({
      clock: new VirtualClock(),
      sensors,
      onSensorError: (error) => errors.push(error),
    });
    await conditions.refresh();
    assert.equal(conditions.current().origins.power, 'default');
    assert.equal(errors.length, 1);
    conditions.dispose();
  });

  it('refresh reads now, and a slow read never overwrites a newer one', async () => {
    const clock = new VirtualClock();
    const resolvers: Array<(value: Partial<Conditions>) => void> = [];
    const sensors: Sensors = { read: () => new Promise((resolve) => resolvers.push(resolve)) };
    const conditions = new DeviceConditions({ clock, sensors });

    const slow = conditions.refresh();
    const fast = conditions.refresh();
    await flushMicrotasks();
    assert.equal(resolvers.length, 2);
    resolvers[1]!({ network: 'offline' });
    await fast;
    resolvers[0]!({ network: 'online' });
    await slow;
    assert.equal(conditions.current().conditions.network, 'offline');
    conditions.dispose();
  });

  it('stops firing after a listener disposes its subscription', () => {
    const { conditions, events } = setup();
    const extra: ConditionsSnapshot[] = [];
    const subscription = conditions.onDidChange((snapshot) => extra.push(snapshot));
    conditions.setOverrides({ power: 'battery' });
    subscription.dispose();
    conditions.setOverrides({ power: 'ac' });
    assert.equal(extra.length, 1);
    assert.equal(events.length, 2);
  });

  it('dispose cancels the poll timer and discards a read in flight', async () => {
    const { clock, sensors, conditions, events } = setup();
    sensors.next = { network: 'online' };
    await conditions.start();
    assert.equal(clock.pendingTimers, 1);

    conditions[Symbol.dispose]();
    assert.equal(clock.pendingTimers, 0);
    sensors.next = { network: 'offline' };
    await clock.advanceBy(10 * INTERVAL);
    assert.equal(sensors.reads, 1);
    await conditions.refresh();
    assert.equal(sensors.reads, 1);
    assert.equal(events.length, 1);
    assert.equal(conditions.current().conditions.network, 'online');
  });

  it('disposing during the first read leaves no timer behind', async () => {
    const { clock, conditions } = setup();
    const started = conditions.start();
    conditions.dispose();
    await started;
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('DeviceConditions with sensor events', () => {
  const DEBOUNCE = 200;

  function watchSetup(options: Partial<DeviceConditionsOptions> = {}) {
    const clock = new VirtualClock();
    const sensors = new WatchableSensors();
    const sensorErrors: unknown[] = [];
    const conditions = new DeviceConditions({
      clock,
      sensors,
      pollIntervalMs: 60_000,
      eventDebounceMs: DEBOUNCE,
      onSensorError: (error) => sensorErrors.push(error),
      ...options,
    });
    return { clock, sensors, conditions, sensorErrors };
  }

  it('validates eventDebounceMs', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, '5' as unknown as number]) {
      assert.throws(
        () => new DeviceConditions({ clock: new VirtualClock(), sensors: new ScriptedSensors(), eventDebounceMs: bad }),
        {
          name: 'TypeError',
          message: /eventDebounceMs/,
        },
      );
    }
  });

  it('subscribes once, on start and before the first read', async () => {
    const { sensors, conditions } = watchSetup();
    assert.equal(sensors.watches, 0, 'not before start');
    await Promise.all([conditions.start(), conditions.start()]);
    assert.equal(sensors.watches, 1);
    assert.equal(sensors.readsAtWatch, 0);
    conditions.dispose();
  });

  it('re-reads the sensors the debounce time after an event, long before the next poll', async () => {
    const { clock, sensors, conditions } = watchSetup();
    const events: string[] = [];
    conditions.onDidChange((snapshot) => events.push(snapshot.conditions.power));
    sensors.next = { power: 'ac' };
    await conditions.start();

    sensors.next = { power: 'battery' };
    sensors.onChange!();
    await clock.advanceBy(DEBOUNCE - 1);
    assert.equal(sensors.reads, 1);
    await clock.advanceBy(1);
    assert.equal(sensors.reads, 2);
    assert.deepEqual(events, ['ac', 'battery']);
    assert.equal(conditions.current().readAt, clock.now());
    conditions.dispose();
  });

  it('coalesces a burst of events into one read', async () => {
    const { clock, sensors, conditions } = watchSetup();
    await conditions.start();
    for (let i = 0; i < 10; i++) {
      sensors.onChange!();
      await clock.advanceBy(10);
    }
    await clock.advanceBy(DEBOUNCE);
    assert.equal(sensors.reads, 2);

    // The next event after the read arms a new one.
    sensors.onChange!();
    await clock.advanceBy(DEBOUNCE);
    assert.equal(sensors.reads, 3);
    conditions.dispose();
  });

  it('keeps the regular poll going alongside events', async () => {
    const { clock, sensors, conditions } = watchSetup({ pollIntervalMs: 1_000 });
    await conditions.start();
    sensors.onChange!();
    await clock.advanceBy(1_000);
    assert.equal(sensors.reads, 3, 'start, the event, the poll');
    conditions.dispose();
  });

  it("passes the sensors' event errors to onSensorError, and a throwing watch does not stop polling", async () => {
    const { sensors, conditions, sensorErrors } = watchSetup();
    await conditions.start();
    const failure = new Error('udevadm: not found');
    sensors.onError!(failure);
    assert.deepEqual(sensorErrors, [failure]);

    const clock = new VirtualClock();
    const throwing = new ScriptedSensors() as ScriptedSensors & { watch: () => Disposable };
    throwing.watch = () => {
      throw new Error('watch bug');
    };
    const errors: unknown[] = [];
    const other = new DeviceConditions({
      clock,
      sensors: throwing,
      pollIntervalMs: 1_000,
      onSensorError: (error) => errors.push(error),
    });
    await other.start();
    await clock.advanceBy(1_000);
    assert.equal(throwing.reads, 2);
    assert.match(String(errors[0]), /watch bug/);
    other.dispose();
    conditions.dispose();
  });

  it('dispose ends the subscription, cancels a pending event read, and ignores later events and errors', async () => {
    const { clock, sensors, conditions, sensorErrors } = watchSetup();
    await conditions.start();
    sensors.onChange!();
    conditions.dispose();
    conditions.dispose();
    assert.equal(sensors.disposed, 1);
    assert.equal(clock.pendingTimers, 0);

    sensors.onChange!();
    sensors.onError!(new Error('late'));
    await clock.runUntilIdle();
    assert.equal(sensors.reads, 1);
    assert.deepEqual(sensorErrors, []);
  });

  it('reports a subscription whose dispose throws, and still disposes', async () => {
    const { sensors, conditions, sensorErrors } = watchSetup();
    sensors.watch = () => ({
      dispose: () => {
        throw new Error('kill failed');
      },
    });
    await conditions.start();
    assert.doesNotThrow(() => conditions.dispose());
    assert.match(String(sensorErrors[0]), /kill failed/);
  });
});

describe('DeviceConditions user-activity overrides', () => {
  it('an overridden activity brings a null idleSince, and resetting it clears both', async () => {
    const { sensors, conditions } = setup();
    sensors.next = { userActivity: 'idle', idleSince: 1_000 };
    await conditions.start();
    conditions.setOverrides({ userActivity: 'idle' });
    assert.deepEqual(conditions.overrides(), { userActivity: 'idle', idleSince: null });
    assert.equal(conditions.current().conditions.idleSince, null);
    assert.equal(conditions.current().origins.idleSince, 'override');

    conditions.resetOverrides(['userActivity']);
    assert.deepEqual(conditions.overrides(), {});
    assert.equal(conditions.current().conditions.idleSince, 1_000);
    conditions.dispose();
  });
});

describe('DeviceConditions with the system sensors', () => {
  const base = mkdtempSync(join(tmpdir(), 'bgtasks-system-'));
  after(() => rmSync(base, { recursive: true, force: true }));

  it('reads fake Linux trees: no supplies leave power at the default, a default route reads online', async () => {
    const powerSupply = join(base, 'power_supply');
    mkdirSync(powerSupply);
    const proc = join(base, 'proc');
    mkdirSync(join(proc, 'net'), { recursive: true });
    writeFileSync(
      join(proc, 'net', 'route'),
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\n',
    );

    // Every other root points at nothing, and no D-Bus: only the machine-independent answers remain.
    const nothing = join(base, 'nothing');
    const roots = {
      powerSupply,
      proc,
      thermal: nothing,
      platformProfile: nothing,
      runSystemd: nothing,
      systemBus: null,
    };
    const conditions = new DeviceConditions({
      clock: new VirtualClock(),
      sensors: createSystemSensors('linux', roots),
    });
    await conditions.refresh();
    const noSeat = { userActivity: 'noSeat', idleSince: null } as const;
    const noSeatOrigins = { userActivity: 'sensor', idleSince: 'sensor' } as const;
    assert.deepEqual(
      conditions.current().conditions,
      all({ power: 'unknown', batteryLevel: null, network: 'online', ...noSeat }),
    );
    assert.deepEqual(
      conditions.current().origins,
      originsOf({ power: 'default', batteryLevel: 'default', network: 'sensor', ...noSeatOrigins }),
    );

    mkdirSync(join(powerSupply, 'BAT0'));
    writeFileSync(join(powerSupply, 'BAT0', 'type'), 'Battery\n');
    writeFileSync(join(powerSupply, 'BAT0', 'status'), 'Discharging\n');
    writeFileSync(join(powerSupply, 'BAT0', 'capacity'), '37\n');
    await conditions.refresh();
    assert.deepEqual(
      conditions.current().conditions,
      all({ power: 'battery', batteryLevel: 37, network: 'online', ...noSeat }),
    );
    assert.deepEqual(
      conditions.current().origins,
      originsOf({ power: 'sensor', batteryLevel: 'sensor', network: 'sensor', ...noSeatOrigins }),
    );
    conditions.dispose();
  });

  it('reads this machine with valid values whatever the platform implementation', async () => {
    for (const platform of [process.platform, 'darwin', 'win32'] as const) {
      const reading = await createSystemSensors(platform).read();
      assert.ok(
        reading.power === undefined || ['ac', 'battery'].includes(reading.power),
        `${platform}: ${reading.power}`,
      );
      assert.ok(
        reading.network === undefined || ['online', 'offline'].includes(reading.network),
        `${platform}: ${reading.network}`,
      );
      for (const field of ['thermalState', 'cpuPressure', 'memoryPressure', 'ioPressure'] as const) {
        assert.ok(
          reading[field] === undefined || ['nominal', 'fair', 'serious', 'critical'].includes(reading[field]),
          `${platform}: ${field} ${reading[field]}`,
        );
      }
      assert.ok(
        reading.userActivity === undefined || ['active', 'idle', 'noSeat'].includes(reading.userActivity),
        `${platform}: ${reading.userActivity}`,
      );
    }
  });

  it('starts and disposes cleanly on this machine with the real sensors and their events', async () => {
    const errors: unknown[] = [];
    const conditions = new DeviceConditions({
      clock: new VirtualClock(),
      sensors: createSystemSensors(),
      onSensorError: (error) => errors.push(error),
    });
    await conditions.start();
    conditions.dispose();
    // Whatever this machine lacks (a system bus, udevadm) is reported, never thrown.
    for (const error of errors) assert.match(String(error), /unavailable/);
  });
});
