/**
 * Whether the network is metered, from NetworkManager's `Metered` property on the system bus. There
 * is no other standard source on Linux: without NetworkManager the field is left out (`unknown`,
 * treated as unmetered), and `bgtasks conditions set networkCost=metered` is the way to say otherwise.
 */
import type { NetworkCost } from '../engine/conditions.js';
import { nameOwnerChangedRule, propertiesChangedRule, type PropertyReader } from './systemBus.js';

const NM = 'org.freedesktop.NetworkManager';
const NM_PATH = '/org/freedesktop/NetworkManager';

/** NetworkManager's property changes (Metered, State, Connectivity …) and its start or stop. */
export const NETWORK_MANAGER_MATCH_RULES: readonly string[] = [
  propertiesChangedRule(NM, { path: NM_PATH }),
  nameOwnerChangedRule(NM),
];

/**
 * Maps `NMMetered` (nm-dbus-interface.h): 1 YES and 3 GUESS_YES are metered, 2 NO and 4 GUESS_NO are
 * not, as NetworkManager itself advises; 0 UNKNOWN and anything else is undefined (left out).
 */
export function meteredToNetworkCost(value: unknown): NetworkCost | undefined {
  if (value === 1 || value === 3) return 'metered';
  if (value === 2 || value === 4) return 'unmetered';
  return undefined;
}

/** The network cost, or undefined when NetworkManager is absent or does not know. Never rejects. */
export async function readNetworkCost(getProperty: PropertyReader): Promise<NetworkCost | undefined> {
  try {
    return meteredToNetworkCost(await getProperty(NM, NM_PATH, NM, 'Metered'));
  } catch {
    return undefined;
  }
}
