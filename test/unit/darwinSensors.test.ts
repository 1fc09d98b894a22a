import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';

import {
  activityFromIdleTime,
  createDarwinSensors,
  DARWIN_IDLE_AFTER_MS,
  parseHidIdleTime,
  parsePmsetBatt,
  parsePmsetLowPowerMode,
  parsePmsetTherm,
  readInterfacesNetwork,
  readNetworkFrom,
  runCommand,
  runPmsetBatt,
  type InterfaceTable,
} from '../../src/conditions/darwinSensors.js';

// Sample outputs in the shapes public code and fixtures show for `pmset -g batt` (macOS cannot be run here).
const ON_BATTERY =
  "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t85%; " +
  'discharging; 4:23 remaining present: true\n';
const CHARGED =
  "Now drawing from 'AC Power'\n -InternalBattery-0 (id=6815843)\t100%; " + 'charged; 0:00 remaining present: true\n';
const HELD =
  "Now drawing from 'AC Power'\n -InternalBattery-0 (id=21430371)\t80%; AC " + 'attached; not charging present: true\n';
const FINISHING =
  "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t99%; finishing " + 'charge; (no estimate) present: true\n';
const DESKTOP = "Now drawing from 'AC Power'\n";
const OLD_FORMAT = "Currently drawing from 'Battery Power'\n -InternalBattery-0\t7%; discharging; 0:12 remaining\n";
const UPS_FIRST =
  "Now drawing from 'AC Power'\n -CP1500PFCLCD (id=7340032)\t95%; charging " +
  'present: true\n -InternalBattery-0 (id=4653155)\t61%; charging; 1:10 ' +
  'remaining present: true\n';
const ON_UPS =
  "Now drawing from 'UPS Power'\n -CP1500PFCLCD (id=7340032)\t73%; discharging; " + '(no estimate) present: true\n';

// `pmset -g` (settings in use) on a laptop with Low Power Mode on, in the shape public fixtures show.
const PMSET_SETTINGS_LOW_POWER = `System-wide power settings:
Currently in use:
 standby              1
 Sleep On Power Button 1
 hibernatefile        /var/vm/sleepimage
 powernap             1
 networkoversleep     0
 disksleep            10
 sleep                1 (sleep prevented by coreaudiod)
 hibernatemode        3
 ttyskeepawake        1
 displaysleep         2
 tcpkeepalive         1
 lowpowermode         1
 womp                 0
`;
const PMSET_SETTINGS_OFF = PMSET_SETTINGS_LOW_POWER.replace('lowpowermode         1', 'lowpowermode         0');
const PMSET_SETTINGS_POWERMODE = 'Currently in use:\n powermode            1\n displaysleep         10\n';
const PMSET_SETTINGS_OLD = 'Currently in use:\n standby              1\n displaysleep         10\n';

// `pmset -g therm` on an Intel Mac, unthrottled and throttled, and on Apple silicon (notes only).
const THERM_NOMINAL = `Note: No thermal warning level has been recorded
Note: No performance warning level has been recorded
2026-01-01 10:00:00 +0000 CPU Power notify
	CPU_Scheduler_Limit 	= 100
	CPU_Available_CPUs 	= 8
	CPU_Speed_Limit 	= 100
`;
const THERM_THROTTLED = THERM_NOMINAL.replace('CPU_Speed_Limit \t= 100', 'CPU_Speed_Limit \t= 48');
const THERM_APPLE_SILICON =
  'Note: No thermal warning level has been recorded\nNote: No performance ' +
  'warning level has been recorded\nNote: No CPU power status has been ' +
  'recorded\n';

// `ioreg -r -c IOHIDSystem -d 1`, trimmed: 125.5 s since the last input.
const IOREG = `+-o IOHIDSystem  <class IOHIDSystem, id 0x100000448, registered, matched, active, busy 0 (0 ms), retain 25>
    {
      "IOClass" = "IOHIDSystem"
      "HIDParameters" = {"HIDClickTime"=500000000}
      "HIDIdleTime" = 125500000000
      "IOProviderClass" = "IOResources"
    }
`;

function iface(address: string, internal = false): NetworkInterfaceInfo {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  const common = {
    address,
    netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::',
    mac: '00:00:00:00:00:00',
    internal,
    cidr: null,
  };
  return family === 'IPv4' ? { ...common, family } : { ...common, family, scopeid: 0 };
}

const LOOPBACK_ONLY: InterfaceTable = { lo0: [iface('127.0.0.1', true), iface('::1', true)] };
const LINK_LOCAL_ONLY: InterfaceTable = {
  ...LOOPBACK_ONLY,
  awdl0: [iface('fe80::b0a1:2ff:fe3c:4d5e')],
  utun0: [iface('fe80::1234:5678:9abc:def0')],
  en0: [iface('169.254.10.20')],
};
const WIFI: InterfaceTable = { ...LINK_LOCAL_ONLY, en0: [iface('fe80::1'), iface('192.168.1.23')] };
const IPV6_ONLY: InterfaceTable = { ...LOOPBACK_ONLY, en0: [iface('2001:db8::23')] };

describe('parsePmsetBatt', () => {
  it('reads battery power and the level', () => {
    assert.deepEqual(parsePmsetBatt(ON_BATTERY), { power: 'battery', batteryLevel: 85 });
    assert.deepEqual(parsePmsetBatt(OLD_FORMAT), { power: 'battery', batteryLevel: 7 });
  });

  it('reads ac power whatever the charging words say', () => {
    assert.deepEqual(parsePmsetBatt(CHARGED), { power: 'ac', batteryLevel: 100 });
    assert.deepEqual(parsePmsetBatt(HELD), { power: 'ac', batteryLevel: 80 });
    assert.deepEqual(parsePmsetBatt(FINISHING), { power: 'ac', batteryLevel: 99 });
  });

  it('reads a desktop Mac (no battery line) as ac with no level', () => {
    assert.deepEqual(parsePmsetBatt(DESKTOP), { power: 'ac', batteryLevel: null });
  });

  it("prefers the internal battery's level over a UPS listed first", () => {
    assert.deepEqual(parsePmsetBatt(UPS_FIRST), { power: 'ac', batteryLevel: 61 });
  });

  it('reads an unknown source as unknown, and garbage as unknown with no level', () => {
    assert.deepEqual(parsePmsetBatt(ON_UPS), { power: 'unknown', batteryLevel: 73 });
    assert.deepEqual(parsePmsetBatt(''), { power: 'unknown', batteryLevel: null });
    assert.deepEqual(parsePmsetBatt('pmset: command not found\n'), { power: 'unknown', batteryLevel: null });
  });
});

describe('readInterfacesNetwork', () => {
  it('reads online for a routable IPv4 or IPv6 address', () => {
    assert.equal(readInterfacesNetwork(WIFI), 'online');
    assert.equal(readInterfacesNetwork(IPV6_ONLY), 'online');
  });

  it('reads offline with only loopback and link-local addresses', () => {
    assert.equal(readInterfacesNetwork(LOOPBACK_ONLY), 'offline');
    assert.equal(readInterfacesNetwork(LINK_LOCAL_ONLY), 'offline');
  });

  it('reads unknown for an empty table, and for a call that throws', () => {
    assert.equal(readInterfacesNetwork({}), 'unknown');
    assert.equal(
      readNetworkFrom(() => {
        throw new Error('uv_interface_addresses failed');
      }),
      'unknown',
    );
  });

  it('reads this machine as one of the three states', () => {
    assert.ok(['online', 'offline', 'unknown'].includes(readNetworkFrom()));
  });
});

describe('parsePmsetLowPowerMode', () => {
  it('reads lowpowermode 1 as on and 0 as off', () => {
    assert.equal(parsePmsetLowPowerMode(PMSET_SETTINGS_LOW_POWER), true);
    assert.equal(parsePmsetLowPowerMode(PMSET_SETTINGS_OFF), false);
  });

  it('falls back to powermode (1 = low power), and is null with neither', () => {
    assert.equal(parsePmsetLowPowerMode(PMSET_SETTINGS_POWERMODE), true);
    assert.equal(
      parsePmsetLowPowerMode(PMSET_SETTINGS_POWERMODE.replace('powermode            1', 'powermode            2')),
      false,
    );
    assert.equal(parsePmsetLowPowerMode(PMSET_SETTINGS_OLD), null);
    assert.equal(parsePmsetLowPowerMode(''), null);
  });
});

describe('parsePmsetTherm', () => {
  it('maps the CPU limits to a level', () => {
    assert.equal(parsePmsetTherm(THERM_NOMINAL), 'nominal');
    assert.equal(parsePmsetTherm(THERM_THROTTLED), 'critical');
    assert.equal(parsePmsetTherm('CPU_Speed_Limit = 85'), 'fair');
    assert.equal(parsePmsetTherm('CPU_Speed_Limit = 80\nCPU_Scheduler_Limit = 75'), 'serious', '80 % of 75 % is 60 %');
  });

  it('is null on Apple silicon and for garbage', () => {
    assert.equal(parsePmsetTherm(THERM_APPLE_SILICON), null);
    assert.equal(parsePmsetTherm('pmset: unknown option'), null);
  });
});

describe('parseHidIdleTime and activityFromIdleTime', () => {
  it('reads HIDIdleTime in ms, the first one only', () => {
    assert.equal(parseHidIdleTime(IOREG), 125_500);
    assert.equal(parseHidIdleTime(`${IOREG}${IOREG.replace('125500000000', '1')}`), 125_500);
    assert.equal(parseHidIdleTime('no HID system here'), null);
  });

  it('is active under the threshold and idle since the last input from it on', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    assert.deepEqual(activityFromIdleTime(DARWIN_IDLE_AFTER_MS - 1, now), { userActivity: 'active', idleSince: null });
    assert.deepEqual(activityFromIdleTime(DARWIN_IDLE_AFTER_MS, now), {
      userActivity: 'idle',
      idleSince: now - DARWIN_IDLE_AFTER_MS,
    });
  });
});

/** A runner for the helpers other than `pmset -g batt`, answering from a table keyed by the command line. */
function runner(outputs: Record<string, string>) {
  const calls: string[] = [];
  const run = async (file: string, args: readonly string[]) => {
    const key = [file, ...args].join(' ');
    calls.push(key);
    const output = outputs[key];
    if (output === undefined) throw new Error(`Command failed: ${key}`);
    return output;
  };
  return { run, calls };
}

const NO_HELPERS = runner({}).run;

describe('createDarwinSensors', () => {
  it('reports power, level and network from pmset and the interfaces', async () => {
    const sensors = createDarwinSensors({
      runPmset: async () => ON_BATTERY,
      run: NO_HELPERS,
      networkInterfaces: () => WIFI,
    });
    assert.deepEqual(await sensors.read(), { power: 'battery', batteryLevel: 85, network: 'online' });
  });

  it('reports a desktop Mac as ac with a null level', async () => {
    const sensors = createDarwinSensors({
      runPmset: async () => DESKTOP,
      run: NO_HELPERS,
      networkInterfaces: () => LINK_LOCAL_ONLY,
    });
    assert.deepEqual(await sensors.read(), { power: 'ac', batteryLevel: null, network: 'offline' });
  });

  it('leaves out what it cannot read instead of failing', async () => {
    const failing = createDarwinSensors({
      runPmset: () => Promise.reject(new Error('Command failed: /usr/bin/pmset -g batt (timed out)')),
      run: NO_HELPERS,
      networkInterfaces: () => ({}),
    });
    assert.deepEqual(await failing.read(), {});

    const unknownSource = createDarwinSensors({
      runPmset: async () => ON_UPS,
      run: NO_HELPERS,
      networkInterfaces: () => IPV6_ONLY,
    });
    assert.deepEqual(await unknownSource.read(), { network: 'online' });
  });

  it(
    'adds Low Power Mode, the thermal state and the user activity from pmset and ' + 'ioreg, one run each per read',
    async () => {
      const now = Date.UTC(2026, 0, 1, 12);
      const { run, calls } = runner({
        '/usr/bin/pmset -g': PMSET_SETTINGS_LOW_POWER,
        '/usr/bin/pmset -g therm': THERM_NOMINAL,
        '/usr/sbin/ioreg -r -c IOHIDSystem -d 1': IOREG,
      });
      const sensors = createDarwinSensors({
        runPmset: async () => ON_BATTERY,
        run,
        networkInterfaces: () => WIFI,
        now: () => now,
      });
      assert.deepEqual(await sensors.read(), {
        power: 'battery',
        batteryLevel: 85,
        lowPowerMode: true,
        thermalState: 'nominal',
        userActivity: 'idle',
        idleSince: now - 125_500,
        network: 'online',
      });
      assert.equal(calls.length, 3);
    },
  );

  it('keeps idleSince steady across polls despite a few ms of sampling jitter', async () => {
    let now = Date.UTC(2026, 0, 1, 12);
    let idleNs = 125_500_000_000;
    const run = async (file: string) =>
      file === '/usr/sbin/ioreg' ? `"HIDIdleTime" = ${idleNs}` : Promise.reject(new Error('no'));
    const sensors = createDarwinSensors({
      runPmset: async () => DESKTOP,
      run,
      networkInterfaces: () => WIFI,
      now: () => now,
    });
    const first = (await sensors.read()).idleSince;
    now += 5_000;
    idleNs += 5_000_000_000 - 7_000_000; // the sample came 7 ms before our clock read
    assert.equal((await sensors.read()).idleSince, first);

    // New input: idle for only 10 s now, so active.
    idleNs = 10_000_000_000;
    assert.deepEqual(await sensors.read().then((reading) => [reading.userActivity, reading.idleSince]), [
      'active',
      null,
    ]);
  });
});

describe('runCommand', () => {
  it('rejects for a helper that does not exist', async () => {
    await assert.rejects(runCommand('/nonexistent/bgtasks-helper', []));
  });
});

describe('runPmsetBatt', () => {
  it('rejects where pmset does not exist (this Linux machine)', { skip: process.platform === 'darwin' }, async () => {
    await assert.rejects(runPmsetBatt());
  });
});
