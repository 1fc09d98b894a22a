import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, it } from 'node:test';

import {
  createDarwinSensors,
  parsePmsetBatt,
  readInterfacesNetwork,
  readNetworkFrom,
  runPmsetBatt,
  type InterfaceTable,
} from '../../src/conditions/darwinSensors.js';

// Sample outputs in the shapes public code and fixtures show for `pmset -g batt` (macOS cannot be run here).
const ON_BATTERY = "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=4653155)\t85%; discharging; 4:23 remaining present: true\n";
const CHARGED = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=6815843)\t100%; charged; 0:00 remaining present: true\n";
const HELD = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=21430371)\t80%; AC attached; not charging present: true\n";
const FINISHING = "Now drawing from 'AC Power'\n -InternalBattery-0 (id=1)\t99%; finishing charge; (no estimate) present: true\n";
const DESKTOP = "Now drawing from 'AC Power'\n";
const OLD_FORMAT = "Currently drawing from 'Battery Power'\n -InternalBattery-0\t7%; discharging; 0:12 remaining\n";
const UPS_FIRST =
  "Now drawing from 'AC Power'\n -CP1500PFCLCD (id=7340032)\t95%; charging present: true\n -InternalBattery-0 (id=4653155)\t61%; charging; 1:10 remaining present: true\n";
const ON_UPS = "Now drawing from 'UPS Power'\n -CP1500PFCLCD (id=7340032)\t73%; discharging; (no estimate) present: true\n";

function iface(address: string, internal = false): NetworkInterfaceInfo {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  const common = { address, netmask: family === 'IPv4' ? '255.255.255.0' : 'ffff:ffff:ffff:ffff::', mac: '00:00:00:00:00:00', internal, cidr: null };
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

describe('createDarwinSensors', () => {
  it('reports power, level and network from pmset and the interfaces', async () => {
    const sensors = createDarwinSensors({ runPmset: async () => ON_BATTERY, networkInterfaces: () => WIFI });
    assert.deepEqual(await sensors.read(), { power: 'battery', batteryLevel: 85, network: 'online' });
  });

  it('reports a desktop Mac as ac with a null level', async () => {
    const sensors = createDarwinSensors({ runPmset: async () => DESKTOP, networkInterfaces: () => LINK_LOCAL_ONLY });
    assert.deepEqual(await sensors.read(), { power: 'ac', batteryLevel: null, network: 'offline' });
  });

  it('leaves out what it cannot read instead of failing', async () => {
    const failing = createDarwinSensors({
      runPmset: () => Promise.reject(new Error('Command failed: /usr/bin/pmset -g batt (timed out)')),
      networkInterfaces: () => ({}),
    });
    assert.deepEqual(await failing.read(), {});

    const unknownSource = createDarwinSensors({ runPmset: async () => ON_UPS, networkInterfaces: () => IPV6_ONLY });
    assert.deepEqual(await unknownSource.read(), { network: 'online' });
  });
});

describe('runPmsetBatt', () => {
  it('rejects where pmset does not exist (this Linux machine)', { skip: process.platform === 'darwin' }, async () => {
    await assert.rejects(runPmsetBatt());
  });
});
