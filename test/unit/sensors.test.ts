import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';

import type { DBusSignal } from '../../src/conditions/dbusConnection.js';
import { IP_MONITOR, UDEV_POWER_MONITOR } from '../../src/conditions/eventMonitors.js';
import { sessionObjectPath } from '../../src/conditions/linuxSession.js';
import { createLinuxSensors, LINUX_MATCH_RULES, type SensorRoots } from '../../src/conditions/sensors.js';
import type { BusClient } from '../../src/conditions/systemBus.js';

/** A callback that must not be called. */
function unexpected(value?: unknown): never {
  assert.fail(`unexpected call${value === undefined ? '' : `: ${String(value)}`}`);
}

const base = mkdtempSync(join(tmpdir(), 'bgtasks-sensors-'));
after(() => rmSync(base, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

let trees = 0;
/** A whole fake machine: a laptop on battery, a default route, CPU pressure, a warm zone, a seat with a session. */
function machine(): Required<Omit<SensorRoots, 'systemBus'>> {
  const root = join(base, `machine-${trees++}`);
  const roots = {
    powerSupply: join(root, 'sys/class/power_supply'),
    proc: join(root, 'proc'),
    thermal: join(root, 'sys/class/thermal'),
    platformProfile: join(root, 'sys/firmware/acpi/platform_profile'),
    runSystemd: join(root, 'run/systemd'),
  };
  write(join(roots.powerSupply, 'BAT0/type'), 'Battery\n');
  write(join(roots.powerSupply, 'BAT0/status'), 'Discharging\n');
  write(join(roots.powerSupply, 'BAT0/capacity'), '55\n');
  write(
    join(roots.proc, 'net/route'),
    'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\n',
  );
  write(
    join(roots.proc, 'pressure/cpu'),
    'some avg10=12.00 avg60=1 avg300=1 total=1\nfull avg10=0.00 avg60=0 avg300=0 ' + 'total=0\n',
  );
  write(
    join(roots.proc, 'pressure/memory'),
    'some avg10=0.00 avg60=0 avg300=0 total=0\nfull avg10=0.00 avg60=0 avg300=0 ' + 'total=0\n',
  );
  write(join(roots.thermal, 'thermal_zone0/temp'), '90000\n');
  write(join(roots.thermal, 'thermal_zone0/trip_point_0_type'), 'passive\n');
  write(join(roots.thermal, 'thermal_zone0/trip_point_0_temp'), '95000\n');
  write(roots.platformProfile, 'low-power\n');
  write(join(roots.runSystemd, 'seats/seat0'), 'IS_SEAT0=1\nACTIVE=3\nSESSIONS=3\n');
  return roots;
}

/** A bus with NetworkManager (metered) and logind (session 3 idle); signals and failures are scripted. */
class FakeBus implements BusClient {
  subscriptions: {
    rules: readonly string[];
    onSignal: (signal: DBusSignal) => void;
    onError: (error: unknown) => void;
    disposed: boolean;
  }[] = [];
  readonly getProperty = async (
    destination: string,
    path: string,
    _iface: string,
    property: string,
  ): Promise<unknown> => {
    if (destination === 'org.freedesktop.NetworkManager' && property === 'Metered') return 1;
    if (destination === 'org.freedesktop.login1' && path === sessionObjectPath('3')) {
      return { IdleHint: true, IdleSinceHint: Date.UTC(2026, 0, 1) * 1000, LockedHint: false }[property];
    }
    return undefined;
  };
  subscribe(rules: readonly string[], onSignal: (signal: DBusSignal) => void, onError: (error: unknown) => void) {
    const subscription = { rules, onSignal, onError, disposed: false };
    this.subscriptions.push(subscription);
    return { dispose: () => void (subscription.disposed = true) };
  }
}

class FakeChild extends EventEmitter {
  readonly stdout = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed = false;
  kill(): boolean {
    this.killed = true;
    return true;
  }
  unref(): void {}
}

describe('createLinuxSensors', () => {
  it('merges every Linux reader', async () => {
    const sensors = createLinuxSensors(machine(), { bus: new FakeBus() });
    assert.deepEqual(await sensors.read(), {
      power: 'battery',
      batteryLevel: 55,
      network: 'online',
      cpuPressure: 'fair',
      memoryPressure: 'nominal',
      thermalState: 'fair',
      lowPowerMode: true,
      networkCost: 'metered',
      userActivity: 'idle',
      idleSince: Date.UTC(2026, 0, 1),
    });
  });

  it('leaves out everything it has no source for (an empty machine, no D-Bus)', async () => {
    const empty = join(base, 'empty');
    mkdirSync(empty, { recursive: true });
    const sensors = createLinuxSensors({
      powerSupply: empty,
      proc: empty,
      thermal: empty,
      platformProfile: join(empty, 'x'),
      runSystemd: empty,
      systemBus: null,
    });
    assert.deepEqual(await sensors.read(), { userActivity: 'noSeat', idleSince: null });
  });

  it('leaves userActivity out when a seat has a session but there is no bus to ask', async () => {
    const reading = await createLinuxSensors({ ...machine(), systemBus: null }).read();
    assert.equal(reading.userActivity, undefined);
    assert.equal(reading.idleSince, undefined);
    assert.equal(reading.networkCost, undefined);
    assert.equal(reading.lowPowerMode, true, 'the platform profile still reads without D-Bus');
  });

  it('watch: monitor lines and D-Bus signals call onChange; dispose ends both', async () => {
    const bus = new FakeBus();
    const children = new Map<string, FakeChild>();
    const sensors = createLinuxSensors(machine(), {
      bus,
      spawn: (file) => {
        const child = new FakeChild();
        children.set(file.split('/').pop()!, child);
        return child as unknown as ChildProcess;
      },
    });
    let changes = 0;
    const watch = sensors.watch!(() => changes++, unexpected);
    assert.deepEqual([...children.keys()].sort(), ['ip', 'udevadm']);
    assert.deepEqual(bus.subscriptions[0]!.rules, LINUX_MATCH_RULES);

    children.get('ip')!.stdout.write('3: wlan0    inet 192.168.1.23/24 scope global wlan0\n');
    await new Promise((resolve) => setImmediate(resolve));
    bus.subscriptions[0]!.onSignal({ member: 'PropertiesChanged', body: [] });
    assert.equal(changes, 2);

    watch.dispose();
    assert.ok(children.get('ip')!.killed && children.get('udevadm')!.killed);
    assert.equal(bus.subscriptions[0]!.disposed, true);
  });

  it('watch: an unavailable bus is reported once with what it costs', () => {
    const bus = new FakeBus();
    const errors: unknown[] = [];
    const watch = createLinuxSensors(machine(), { bus, monitors: [] }).watch!(unexpected, (error) =>
      errors.push(error),
    );
    bus.subscriptions[0]!.onError(new Error('connect ENOENT /var/run/dbus/system_bus_socket'));
    assert.equal(errors.length, 1);
    assert.match(
      String(errors[0]),
      /system D-Bus unavailable \(connect ENOENT .*\): logind idle, NetworkManager metered and power-profiles-daemon are not read/,
    );
    watch.dispose();
  });

  it('uses both kernel monitors by default', () => {
    const spawned: string[] = [];
    const watch = createLinuxSensors(
      { systemBus: null },
      {
        spawn: (file, args) => {
          spawned.push([file.split('/').pop(), ...args].join(' '));
          return new FakeChild() as unknown as ChildProcess;
        },
      },
    ).watch!(() => {});
    assert.deepEqual(spawned, [
      ['ip', ...IP_MONITOR.args].join(' '),
      ['udevadm', ...UDEV_POWER_MONITOR.args].join(' '),
    ]);
    watch.dispose();
  });

  it('starts and stops cleanly on this machine, whatever it lacks', async () => {
    const sensors = createLinuxSensors();
    const errors: unknown[] = [];
    const watch = sensors.watch!(
      () => {},
      (error) => errors.push(error),
    );
    const reading = await sensors.read();
    assert.equal(typeof reading, 'object');
    watch.dispose();
    for (const error of errors) assert.ok(error instanceof Error && /unavailable/.test(error.message), String(error));
  });
});
