import type { ConditionsSnapshot } from './conditions.js';
import type { SchedulingProfile } from './options.js';

export interface ProfileChoice {
  readonly profile: SchedulingProfile;
  /** Why, for a person: logged and shown by `bgtasks status`. */
  readonly reason: string;
}

/**
 * Picks the policy profile from what the machine looks like: a battery or a person at a seat means a
 * laptop or a desktop (`device`: every heuristic); neither means a headless box (`server`). Only a
 * sensor's word counts: a default or an override says nothing about the machine.
 */
export function chooseProfile(snapshot: ConditionsSnapshot): ProfileChoice {
  const { conditions, origins } = snapshot;
  const battery = origins.power === 'sensor' && (conditions.power === 'battery' || conditions.batteryLevel !== null);
  const seat =
    origins.userActivity === 'sensor' && (conditions.userActivity === 'active' || conditions.userActivity === 'idle');
  if (battery) return { profile: 'device', reason: 'a battery was found' };
  if (seat) return { profile: 'device', reason: 'a local seat with a user session was found' };
  return { profile: 'server', reason: 'no battery and no local seat were found' };
}
