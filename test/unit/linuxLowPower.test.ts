import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import {
  POWER_PROFILES_MATCH_RULES,
  readLinuxLowPowerMode,
  readPlatformProfile,
  readPowerProfilesDaemon,
} from '../../src/conditions/linuxLowPower.js';
import type { PropertyReader } from '../../src/conditions/systemBus.js';

const base = mkdtempSync(join(tmpdir(), 'bgtasks-lowpower-'));
after(() => rmSync(base, { recursive: true, force: true }));

let files = 0;
function profileFile(text: string): string {
  const path = join(base, `platform_profile-${files++}`);
  writeFileSync(path, text);
  return path;
}

/** A bus where only the given services answer `ActiveProfile`. */
function bus(profiles: Record<string, unknown>): PropertyReader & { calls: string[] } {
  const calls: string[] = [];
  const reader = async (destination: string, path: string, iface: string, property: string) => {
    calls.push(`${destination} ${path} ${iface} ${property}`);
    return profiles[destination];
  };
  return Object.assign(reader, { calls });
}

const NEW_NAME = 'org.freedesktop.UPower.PowerProfiles';
const OLD_NAME = 'net.hadess.PowerProfiles';

describe('readPlatformProfile', () => {
  it('reads low-power as on and other profiles as off', () => {
    assert.equal(readPlatformProfile(profileFile('low-power\n')), true);
    for (const profile of ['balanced', 'performance', 'quiet', 'cool', 'balanced-performance', 'custom']) {
      assert.equal(readPlatformProfile(profileFile(`${profile}\n`)), false, profile);
    }
  });

  it('is undefined for a missing, empty or unreadable file', () => {
    assert.equal(readPlatformProfile(join(base, 'missing')), undefined);
    assert.equal(readPlatformProfile(profileFile('\n')), undefined);
    assert.equal(readPlatformProfile(base), undefined);
  });
});

describe('readPowerProfilesDaemon', () => {
  it('asks the current name first, at its own path and interface', async () => {
    const reader = bus({ [NEW_NAME]: 'power-saver', [OLD_NAME]: 'balanced' });
    assert.equal(await readPowerProfilesDaemon(reader), true);
    assert.deepEqual(reader.calls, [`${NEW_NAME} /org/freedesktop/UPower/PowerProfiles ${NEW_NAME} ActiveProfile`]);
  });

  it('falls back to the old net.hadess name (power-profiles-daemon before 0.20)', async () => {
    const reader = bus({ [OLD_NAME]: 'performance' });
    assert.equal(await readPowerProfilesDaemon(reader), false);
    assert.equal(reader.calls[1], `${OLD_NAME} /net/hadess/PowerProfiles ${OLD_NAME} ActiveProfile`);
  });

  it('is undefined when no daemon answers, or answers nonsense, and survives a rejecting reader', async () => {
    assert.equal(await readPowerProfilesDaemon(bus({})), undefined);
    assert.equal(await readPowerProfilesDaemon(bus({ [NEW_NAME]: 7 })), undefined);
    assert.equal(await readPowerProfilesDaemon(() => Promise.reject(new Error('bus gone'))), undefined);
  });
});

describe('readLinuxLowPowerMode', () => {
  it("prefers the daemon's profile over the firmware's", async () => {
    assert.equal(await readLinuxLowPowerMode(profileFile('low-power\n'), bus({ [NEW_NAME]: 'balanced' })), false);
    assert.equal(await readLinuxLowPowerMode(profileFile('quiet\n'), bus({ [OLD_NAME]: 'power-saver' })), true);
  });

  it('uses the platform profile without a daemon, and is undefined with neither', async () => {
    assert.equal(await readLinuxLowPowerMode(profileFile('low-power\n'), bus({})), true);
    assert.equal(await readLinuxLowPowerMode(join(base, 'missing'), bus({})), undefined);
  });

  it('subscribes to both names', () => {
    assert.equal(POWER_PROFILES_MATCH_RULES.filter((rule) => rule.includes(NEW_NAME)).length, 2);
    assert.equal(POWER_PROFILES_MATCH_RULES.filter((rule) => rule.includes(OLD_NAME)).length, 2);
  });
});
