import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { readLinuxThermal, zoneLevel } from '../../src/conditions/linuxThermal.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-thermal-'));
after(() => rmSync(base, { recursive: true, force: true }));

let trees = 0;
/** A fake /sys/class/thermal: one directory per zone, one file per attribute (newline-terminated, as sysfs). */
function thermal(zones: Record<string, Record<string, string>>): string {
  const root = join(base, `thermal-${trees++}`);
  mkdirSync(root);
  for (const [name, attrs] of Object.entries(zones)) {
    mkdirSync(join(root, name));
    for (const [attr, value] of Object.entries(attrs)) writeFileSync(join(root, name, attr), `${value}\n`);
  }
  return root;
}

/** A laptop's acpitz zone: passive at 95 °C, critical at 105 °C. */
const ACPITZ_TRIPS = {
  type: 'acpitz',
  trip_point_0_type: 'critical',
  trip_point_0_temp: '105000',
  trip_point_1_type: 'passive',
  trip_point_1_temp: '95000',
};

describe('zoneLevel', () => {
  const trips = [
    { type: 'critical', temp: 105_000 },
    { type: 'passive', temp: 95_000 },
    { type: 'active', temp: 50_000 },
  ];

  it('uses the trip points: near passive fair, at passive serious, near critical critical', () => {
    assert.equal(zoneLevel(60_000, trips), 'nominal', 'an active (fan) trip is normal operation');
    assert.equal(zoneLevel(84_999, trips), 'nominal');
    assert.equal(zoneLevel(85_000, trips), 'fair');
    assert.equal(zoneLevel(95_000, trips), 'serious');
    assert.equal(zoneLevel(99_999, trips), 'serious');
    assert.equal(zoneLevel(100_000, trips), 'critical');
  });

  it('treats a hot trip like a passive one, taking the lowest', () => {
    assert.equal(
      zoneLevel(80_000, [
        { type: 'hot', temp: 80_000 },
        { type: 'passive', temp: 90_000 },
      ]),
      'serious',
    );
  });

  it('falls back to absolute temperatures without passive or hot trips, still honouring a critical trip', () => {
    assert.equal(zoneLevel(74_000, []), 'nominal');
    assert.equal(zoneLevel(75_000, []), 'fair');
    assert.equal(zoneLevel(85_000, []), 'serious');
    assert.equal(zoneLevel(95_000, []), 'critical');
    assert.equal(zoneLevel(80_000, [{ type: 'critical', temp: 84_000 }]), 'critical');
  });

  it('ignores placeholder trip temperatures', () => {
    // x86_pkg_temp ships passive trips at 0; THERMAL_TEMP_INVALID is -274000.
    assert.equal(
      zoneLevel(40_000, [
        { type: 'passive', temp: 0 },
        { type: 'critical', temp: -274_000 },
      ]),
      'nominal',
    );
  });
});

describe('readLinuxThermal', () => {
  it('takes the worst zone', () => {
    const root = thermal({
      thermal_zone0: { ...ACPITZ_TRIPS, temp: '50000' },
      thermal_zone1: { type: 'x86_pkg_temp', temp: '86000' },
      thermal_zone2: { type: 'iwlwifi_1', temp: '40000' },
    });
    assert.equal(readLinuxThermal(root), 'serious');
  });

  it('reads nominal for cool zones', () => {
    assert.equal(readLinuxThermal(thermal({ thermal_zone0: { ...ACPITZ_TRIPS, temp: '45000' } })), 'nominal');
  });

  it('is undefined without zones or without a readable temperature', () => {
    assert.equal(readLinuxThermal(thermal({})), undefined);
    assert.equal(readLinuxThermal(join(base, 'missing')), undefined);
    assert.equal(
      readLinuxThermal(
        thermal({ thermal_zone0: { type: 'acpitz' }, cooling_device0: { type: 'Processor', temp: '99000' } }),
      ),
      undefined,
    );
  });

  it('skips zones with malformed or invalid temperatures and ignores malformed trips', () => {
    const root = thermal({
      thermal_zone0: { type: 'broken', temp: 'N/A' },
      thermal_zone1: { type: 'invalid', temp: '-274000' },
      thermal_zone2: {
        type: 'ok',
        temp: '60000',
        trip_point_0_type: 'passive',
        trip_point_0_temp: 'garbage',
        trip_point_1_type: 'critical',
      },
    });
    assert.equal(readLinuxThermal(root), 'nominal');
  });

  it('holds a level until the zone is more than 2 °C below the bound it crossed', () => {
    const zone = (temp: string) => thermal({ thermal_zone0: { ...ACPITZ_TRIPS, temp } });
    assert.equal(readLinuxThermal(zone('95000'), undefined), 'serious');
    assert.equal(readLinuxThermal(zone('94000'), 'serious'), 'serious', 'within the margin');
    assert.equal(readLinuxThermal(zone('92900'), 'serious'), 'fair', 'clear of it');
    assert.equal(readLinuxThermal(zone('94000'), 'fair'), 'fair', 'rising is never held back');
    assert.equal(readLinuxThermal(zone('96000'), 'fair'), 'serious');
    assert.equal(readLinuxThermal(zone('30000'), 'critical'), 'nominal', 'a big drop goes all the way');
  });

  it('reads this machine with a valid level or nothing', () => {
    const level = readLinuxThermal();
    assert.ok(level === undefined || ['nominal', 'fair', 'serious', 'critical'].includes(level));
  });
});
