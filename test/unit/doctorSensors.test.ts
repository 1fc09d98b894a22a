/**
 * The doctor's sensors check (src/cli/doctor/sensorsCheck.ts): the real Linux sensors read once from
 * real sysfs/procfs-shaped trees (the roots the sensors take), and the daemon's `conditions` reply.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkSensors } from '../../src/cli/doctor/sensorsCheck.js';
import type { Check } from '../../src/cli/doctor/checks.js';
import { createLinuxSensors, type SensorRoots } from '../../src/conditions/sensors.js';
import { DEFAULT_CONDITIONS } from '../../src/engine/conditions.js';

const base = mkdtempSync(join(tmpdir(), 'bgt-doctor-sensors-'));
after(() => rmSync(base, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

let trees = 0;
/** A machine tree: with `laptop`, a battery, a default route, PSI files and a thermal zone; else nothing. */
function roots(laptop: boolean): SensorRoots {
  const root = join(base, `m${trees++}`);
  const tree = {
    powerSupply: join(root, 'sys/class/power_supply'),
    proc: join(root, 'proc'),
    thermal: join(root, 'sys/class/thermal'),
    platformProfile: join(root, 'sys/firmware/acpi/platform_profile'),
    runSystemd: join(root, 'run/systemd'),
    systemBus: null,
  };
  mkdirSync(root, { recursive: true });
  if (laptop) {
    write(join(tree.powerSupply, 'BAT0/type'), 'Battery\n');
    write(join(tree.powerSupply, 'BAT0/status'), 'Discharging\n');
    write(join(tree.powerSupply, 'BAT0/capacity'), '55\n');
    write(
      join(tree.proc, 'net/route'),
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\nwlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\n',
    );
    for (const kind of ['cpu', 'memory', 'io'])
      write(
        join(tree.proc, `pressure/${kind}`),
        'some avg10=0.00 avg60=0 avg300=0 total=0\nfull avg10=0.00 avg60=0 avg300=0 ' + 'total=0\n',
      );
    write(join(tree.thermal, 'thermal_zone0/temp'), '40000\n');
    write(tree.platformProfile, 'balanced\n');
  }
  return tree;
}

function line(checks: readonly Check[], id: string): Check {
  const found = checks.find((check) => check.id === id);
  assert.ok(found, `no ${id} among ${checks.map((check) => check.id).join(', ')}`);
  return found;
}

describe('doctor sensorsCheck', () => {
  it('reports the conditions a real sensor read as ok, with their values', async () => {
    const { checks } = await checkSensors({
      daemon: null,
      sensors: createLinuxSensors(roots(true)),
      timeoutMs: 5000,
      platform: 'linux',
    });
    assert.equal(line(checks, 'sensors.power').status, 'ok');
    assert.match(line(checks, 'sensors.power').detail, /power=battery batteryLevel=55 \(from a sensor/);
    for (const id of [
      'sensors.network',
      'sensors.thermalState',
      'sensors.cpuPressure',
      'sensors.memoryPressure',
      'sensors.ioPressure',
      'sensors.lowPowerMode',
    ]) {
      assert.equal(line(checks, id).status, 'ok', id);
    }
    // No bus here: NetworkManager's metered flag and logind cannot be read.
    assert.equal(line(checks, 'sensors.networkCost').status, 'warn');
  });

  it('warns on each unknown condition with what it means for scheduling and how to make it real', async () => {
    const { checks } = await checkSensors({
      daemon: null,
      sensors: createLinuxSensors(roots(false)),
      timeoutMs: 5000,
      platform: 'linux',
      env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${join(base, 'no-bus')}` },
    });
    assert.equal(checks.length, 9);
    // logind's absence reads as a real `noSeat` (a headless machine); every other condition is unknown.
    assert.deepEqual(
      checks.filter((check) => check.status !== 'warn').map((check) => check.id),
      ['sensors.userActivity'],
    );
    const power = line(checks, 'sensors.power');
    assert.match(power.detail, /power is unknown .* requiresExternalPower tasks run/);
    assert.match(power.fix!, /\/sys\/class\/power_supply/);
    const cost = line(checks, 'sensors.networkCost');
    assert.match(cost.detail, /requiresUnmeteredNetwork/);
    assert.match(cost.fix!, /there is no system bus: .*no-bus does not exist/);
    assert.match(line(checks, 'sensors.cpuPressure').fix!, /CONFIG_PSI/);
  });

  it('warns about a condition the daemon has overridden: conditions reset', async () => {
    const origins = Object.fromEntries(Object.keys(DEFAULT_CONDITIONS).map((name) => [name, 'sensor' as const]));
    const { checks } = await checkSensors({
      daemon: {
        conditions: { ...DEFAULT_CONDITIONS, power: 'ac', network: 'offline' },
        origins: { ...origins, network: 'override' },
        overrides: { network: 'offline' },
      },
      timeoutMs: 5000,
      platform: 'linux',
    });
    const network = line(checks, 'sensors.network');
    assert.equal(network.status, 'warn');
    assert.match(network.detail, /network=offline: overridden/);
    assert.equal(network.fix, 'conditions overridden: bgtasks conditions reset');
    assert.equal(line(checks, 'sensors.power').status, 'ok');
    assert.match(line(checks, 'sensors.power').detail, /as the daemon sees it/);
  });

  it('without a daemon, warns about overrides kept in the store', async () => {
    const { checks } = await checkSensors({
      daemon: null,
      sensors: createLinuxSensors(roots(true)),
      storedOverrides: { lowPowerMode: true },
      timeoutMs: 5000,
      platform: 'linux',
    });
    const lowPower = line(checks, 'sensors.lowPowerMode');
    assert.equal(lowPower.status, 'warn');
    assert.match(lowPower.detail, /lowPowerMode=true: overridden .* when it starts/);
  });

  it('fails a sensor read that never ends at the timeout instead of hanging', async () => {
    const hung = { read: () => new Promise<never>(() => {}) };
    await assert.rejects(
      checkSensors({ daemon: null, sensors: hung, timeoutMs: 100, platform: 'linux' }),
      /did not answer within 100 ms/,
    );
  });
});
