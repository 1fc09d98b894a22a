import { createSystemSensors, type Sensors } from '../conditions/sensors.js';
import { CONDITION_NAMES, DEFAULT_CONDITIONS, type ConditionsSnapshot } from '../engine/conditions.js';
import { chooseProfile, type ProfileChoice } from '../engine/profile.js';

/**
 * The profile the daemon would pick on this machine at its first start (src/engine/profile.ts, from one
 * read of the real sensors): what `createTestSystem({ profile: 'auto' })` runs.
 */
export async function machineProfile(sensors: Sensors = createSystemSensors()): Promise<ProfileChoice> {
  const read = await sensors.read().catch(() => ({}));
  const origins = Object.fromEntries(
    CONDITION_NAMES.map((name) => [name, name in read ? 'sensor' : 'default']),
  ) as ConditionsSnapshot['origins'];
  return chooseProfile({ conditions: { ...DEFAULT_CONDITIONS, ...read }, origins, readAt: 0 });
}
