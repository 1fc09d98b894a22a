/**
 * Whether the system's power saver is on (the Linux counterpart of Low Power Mode):
 *
 * 1. power-profiles-daemon's `ActiveProfile` is `power-saver`. It is the setting desktops show, and
 *    it drives the firmware profile itself. Since 0.20 the daemon is `org.freedesktop.UPower.PowerProfiles`;
 *    older ones (Debian 12 ships 0.12) only own `net.hadess.PowerProfiles`, so both are asked. tuned-ppd
 *    and TLP's tlp-pd implement the same interface.
 * 2. Otherwise the ACPI platform profile `/sys/firmware/acpi/platform_profile` is `low-power` (set by
 *    firmware hotkeys, TLP, or by hand). `quiet` and `cool` are not counted: they trade noise or heat,
 *    not battery.
 *
 * With neither source the field is left out (the default, off).
 */
import { readFileSync } from 'node:fs';

import { nameOwnerChangedRule, propertiesChangedRule, type PropertyReader } from './systemBus.js';

/** The daemon's names, newest first, each with its object path and interface. */
const POWER_PROFILES = [
  { name: 'org.freedesktop.UPower.PowerProfiles', path: '/org/freedesktop/UPower/PowerProfiles' },
  { name: 'net.hadess.PowerProfiles', path: '/net/hadess/PowerProfiles' },
] as const;

export const DEFAULT_PLATFORM_PROFILE_PATH = '/sys/firmware/acpi/platform_profile';

/** Profile changes and the daemon starting or stopping, under either name. */
export const POWER_PROFILES_MATCH_RULES: readonly string[] = POWER_PROFILES.flatMap(({ name, path }) => [
  propertiesChangedRule(name, { path }),
  nameOwnerChangedRule(name),
]);

/** True for `low-power`, false for any other profile, undefined when the file is missing, unreadable or empty. */
export function readPlatformProfile(path = DEFAULT_PLATFORM_PROFILE_PATH): boolean | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  return text === '' ? undefined : text === 'low-power';
}

/**
 * True for `power-saver`, false for another profile, undefined when no power-profiles daemon answers. Never rejects.
 */
export async function readPowerProfilesDaemon(getProperty: PropertyReader): Promise<boolean | undefined> {
  for (const { name, path } of POWER_PROFILES) {
    let profile: unknown;
    try {
      profile = await getProperty(name, path, name, 'ActiveProfile');
    } catch {
      profile = undefined;
    }
    if (typeof profile === 'string' && profile !== '') return profile === 'power-saver';
  }
  return undefined;
}

/** The daemon's answer if there is one, else the platform profile's, else undefined. Never rejects. */
export async function readLinuxLowPowerMode(
  platformProfilePath: string | undefined,
  getProperty: PropertyReader,
): Promise<boolean | undefined> {
  return (await readPowerProfilesDaemon(getProperty)) ?? readPlatformProfile(platformProfilePath);
}
