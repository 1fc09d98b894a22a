import type { Disposable } from './clock.js';

/** Where the device draws power from. `unknown` is treated as external power (desktops, servers, VMs). */
export type PowerSource = 'ac' | 'battery' | 'unknown';
/** Whether the device has a route to a network. `unknown` is treated as online. */
export type NetworkState = 'online' | 'offline' | 'unknown';
/** Whether the network is billed by use (NetworkManager's `Metered`). `unknown` is treated as unmetered. */
export type NetworkCost = 'unmetered' | 'metered' | 'unknown';
/**
 * Whether a person is using the machine: `active` (input recently), `idle` (no input since `idleSince`),
 * `noSeat` (no local seat or graphical session: a headless box, which counts as idle), `unknown`.
 */
export type UserActivity = 'active' | 'idle' | 'noSeat' | 'unknown';
/**
 * A load level, like Apple's `ProcessInfo.ThermalState`. Used for the thermal state and for each kind
 * of Linux pressure stall (PSI): `nominal` < `fair` < `serious` < `critical`. `unknown` counts as nominal.
 */
export type LoadLevel = 'nominal' | 'fair' | 'serious' | 'critical' | 'unknown';
export const LOAD_LEVELS: readonly LoadLevel[] = ['nominal', 'fair', 'serious', 'critical'];

/** The device's conditions that policies decide on. */
export interface Conditions {
  readonly power: PowerSource;
  /** Battery charge in percent (0 to 100), or null where there is no battery or it cannot be read. */
  readonly batteryLevel: number | null;
  /** The system's power saver (Low Power Mode on macOS, the `power-saver` profile on Linux). */
  readonly lowPowerMode: boolean;
  readonly network: NetworkState;
  readonly networkCost: NetworkCost;
  readonly userActivity: UserActivity;
  /**
   * Wall-clock ms since which there has been no user input, when `userActivity` is `idle` and the OS
   * says; null otherwise (an `idle` with a null `idleSince` counts as idle long enough).
   */
  readonly idleSince: number | null;
  readonly thermalState: LoadLevel;
  /** Linux PSI `some avg10` of CPU, memory and IO, as levels (see src/conditions for the thresholds). */
  readonly cpuPressure: LoadLevel;
  readonly memoryPressure: LoadLevel;
  readonly ioPressure: LoadLevel;
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
  lowPowerMode: false,
  network: 'unknown',
  networkCost: 'unknown',
  userActivity: 'unknown',
  idleSince: null,
  thermalState: 'unknown',
  cpuPressure: 'unknown',
  memoryPressure: 'unknown',
  ioPressure: 'unknown',
});

export const CONDITION_NAMES = Object.keys(DEFAULT_CONDITIONS) as readonly ConditionName[];

export function sameConditions(a: Conditions, b: Conditions): boolean {
  return CONDITION_NAMES.every((name) => a[name] === b[name]);
}

/** `level` is at least `threshold`; `unknown` counts as `nominal`. */
export function levelAtLeast(level: LoadLevel, threshold: LoadLevel): boolean {
  const rank = (value: LoadLevel) => (value === 'unknown' ? 0 : LOAD_LEVELS.indexOf(value));
  return rank(level) >= rank(threshold);
}
