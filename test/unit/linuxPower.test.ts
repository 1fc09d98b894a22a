import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { readLinuxPower } from '../../src/conditions/linuxPower.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-power-'));
after(() => rmSync(base, { recursive: true, force: true }));

let trees = 0;
/** Builds a fake /sys/class/power_supply: one directory per supply, one file per attribute. */
function sysfs(supplies: Record<string, Record<string, string>>): string {
  const root = join(base, `tree-${trees++}`);
  mkdirSync(root);
  for (const [name, attrs] of Object.entries(supplies)) {
    mkdirSync(join(root, name));
    // The kernel ends every attribute with a newline; the reader must trim it.
    for (const [attr, value] of Object.entries(attrs)) writeFileSync(join(root, name, attr), `${value}\n`);
  }
  return root;
}

describe('readLinuxPower', () => {
  it('reads unknown with no level for an empty directory (servers, VMs)', () => {
    assert.deepEqual(readLinuxPower(sysfs({})), { power: 'unknown', batteryLevel: null });
  });

  it('reads unknown for a missing or unlistable root instead of throwing', () => {
    assert.deepEqual(readLinuxPower(join(base, 'does-not-exist')), { power: 'unknown', batteryLevel: null });
    const file = join(base, 'a-file');
    writeFileSync(file, 'x');
    assert.deepEqual(readLinuxPower(file), { power: 'unknown', batteryLevel: null });
  });

  it('reads ac when a mains supply is online, even with a discharging battery', () => {
    const root = sysfs({
      AC: { type: 'Mains', online: '1' },
      BAT0: { type: 'Battery', status: 'Discharging', capacity: '80', present: '1' },
    });
    assert.deepEqual(readLinuxPower(root), { power: 'ac', batteryLevel: 80 });
  });

  it('counts online > 0 as online (2 = USB PD programmable supply)', () => {
    const root = sysfs({ 'ucsi-source-psy-USBC000:001': { type: 'USB', online: '2' } });
    assert.equal(readLinuxPower(root).power, 'ac');
  });

  it('reads battery with its capacity when a battery discharges and nothing is online', () => {
    const root = sysfs({
      AC: { type: 'Mains', online: '0' },
      BAT0: { type: 'Battery', status: 'Discharging', capacity: '42' },
    });
    assert.deepEqual(readLinuxPower(root), { power: 'battery', batteryLevel: 42 });
  });

  it('ignores a peripheral battery (scope=Device) for both the source and the level', () => {
    const onlyMouse = sysfs({ AAA_mouse: { type: 'Battery', scope: 'Device', status: 'Discharging', capacity: '5' } });
    assert.deepEqual(readLinuxPower(onlyMouse), { power: 'unknown', batteryLevel: null });

    const laptop = sysfs({
      AAA_mouse: { type: 'Battery', scope: 'Device', status: 'Discharging', capacity: '5' },
      BAT1: { type: 'Battery', scope: 'System', status: 'Charging', capacity: '64' },
    });
    assert.deepEqual(readLinuxPower(laptop), { power: 'ac', batteryLevel: 64 });
  });

  it('ignores a battery with present=0', () => {
    const root = sysfs({
      BAT0: { type: 'Battery', present: '0', status: 'Discharging', capacity: '10' },
      BAT1: { type: 'Battery', present: '1', status: 'Full', capacity: '100' },
    });
    assert.deepEqual(readLinuxPower(root), { power: 'ac', batteryLevel: 100 });
    assert.deepEqual(readLinuxPower(sysfs({ BAT0: { type: 'Battery', present: '0', status: 'Discharging' } })), {
      power: 'unknown',
      batteryLevel: null,
    });
  });

  it('assumes ac when batteries exist but none discharges and no supply is online', () => {
    const root = sysfs({
      AC: { type: 'Mains', online: '0' },
      BAT0: { type: 'Battery', status: 'Not charging', capacity: '79' },
    });
    assert.deepEqual(readLinuxPower(root), { power: 'ac', batteryLevel: 79 });
  });

  it('takes the level of the first battery in name order', () => {
    const root = sysfs({
      BAT1: { type: 'Battery', status: 'Discharging', capacity: '20' },
      BAT0: { type: 'Battery', status: 'Discharging', capacity: '90' },
    });
    assert.deepEqual(readLinuxPower(root), { power: 'battery', batteryLevel: 90 });
  });

  it('derives the level from energy_now/energy_full, then from charge_now/charge_full', () => {
    const energy = sysfs({
      BAT0: { type: 'Battery', status: 'Discharging', energy_now: '30000000', energy_full: '60000000' },
    });
    assert.deepEqual(readLinuxPower(energy), { power: 'battery', batteryLevel: 50 });

    const charge = sysfs({
      BAT0: { type: 'Battery', status: 'Discharging', charge_now: '1000000', charge_full: '3000000' },
    });
    assert.equal(readLinuxPower(charge).batteryLevel, 33);

    const garbledCapacity = sysfs({ BAT0: { type: 'Battery', capacity: 'n/a', energy_now: '1', energy_full: '4' } });
    assert.equal(readLinuxPower(garbledCapacity).batteryLevel, 25);
  });

  it('keeps the level within 0..100 and null when it cannot be derived', () => {
    const worn = sysfs({ BAT0: { type: 'Battery', energy_now: '52000000', energy_full: '50000000' } });
    assert.equal(readLinuxPower(worn).batteryLevel, 100);

    const overCapacity = sysfs({ BAT0: { type: 'Battery', capacity: '101' } });
    assert.equal(readLinuxPower(overCapacity).batteryLevel, 100);

    const zeroFull = sysfs({ BAT0: { type: 'Battery', energy_now: '5', energy_full: '0' } });
    assert.equal(readLinuxPower(zeroFull).batteryLevel, null);

    const nothing = sysfs({ BAT0: { type: 'Battery', status: 'Discharging' } });
    assert.deepEqual(readLinuxPower(nothing), { power: 'battery', batteryLevel: null });
  });

  it('treats an attribute that cannot be read as absent', () => {
    const root = sysfs({ BAT0: { type: 'Battery', status: 'Discharging', energy_now: '3', energy_full: '4' } });
    // Reading a directory fails with EISDIR, like a sysfs attribute failing with EIO.
    mkdirSync(join(root, 'BAT0', 'capacity'));
    assert.deepEqual(readLinuxPower(root), { power: 'battery', batteryLevel: 75 });
  });

  it('reads this machine without throwing', () => {
    const reading = readLinuxPower();
    assert.ok(['ac', 'battery', 'unknown'].includes(reading.power));
    assert.ok(reading.batteryLevel === null || (reading.batteryLevel >= 0 && reading.batteryLevel <= 100));
  });
});
