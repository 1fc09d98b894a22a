import type { Disposable } from './clock.js';

/** Where the device draws power from. `unknown` is treated as external power (desktops, servers, VMs). */
export type PowerSource = 'ac' | 'battery' | 'unknown';
/** Whether the device has a route to a network. `unknown` is treated as online. */
export type NetworkState = 'online' | 'offline' | 'unknown';

/** The device's conditions that policies decide on. Later policies add fields here. */
export interface Conditions {
  readonly power: PowerSource;
  /** Battery charge in percent (0 to 100), or null where there is no battery or it cannot be read. */
  readonly batteryLevel: number | null;
  readonly network: NetworkState;
}

export type ConditionName = keyof Conditions;

/** Where each value came from: a real sensor, an override (`bgtasks conditions set`), or the fallback default. */
export type ConditionOrigin = 'sensor' | 'override' | 'default';

export interface ConditionsSnapshot {
  readonly conditions: Conditions;
  readonly origins: Readonly<Record<ConditionName, ConditionOrigin>>;
  /** Wall-clock ms at which the sensors were last read. */
  readonly readAt: number;
}

/** A source of conditions: the machine's sensors in the daemon, a scripted timeline in tests. */
export interface ConditionsSource {
  current(): ConditionsSnapshot;
  /** Called whenever any condition changes value. */
  onDidChange(listener: (snapshot: ConditionsSnapshot) => void): Disposable;
}

export const DEFAULT_CONDITIONS: Conditions = Object.freeze({
  power: 'unknown',
  batteryLevel: null,
  network: 'unknown',
});

export function sameConditions(a: Conditions, b: Conditions): boolean {
  return a.power === b.power && a.batteryLevel === b.batteryLevel && a.network === b.network;
}
