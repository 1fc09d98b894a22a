import {
  CONDITION_NAMES,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
  type ConditionsSnapshot,
} from '../engine/conditions.js';

/** Some conditions, as a layer holds them (overrides, sensor readings). */
export type ConditionLayer = { -readonly [K in ConditionName]?: Conditions[K] };

/**
 * The overrides layer after setting `picked` on top of `current`. An overridden `userActivity` brings
 * `idleSince: null` unless one is given, so a sensor's timestamp never sits beside an activity it did
 * not measure. Shared by the daemon's `DeviceConditions` and the kit's `TraceConditions`.
 */
export function withOverrides(current: ConditionLayer, picked: ConditionLayer): ConditionLayer {
  const next = { ...picked };
  if (next.userActivity !== undefined && !Object.hasOwn(next, 'idleSince')) next.idleSince = null;
  return { ...current, ...next };
}

/** The overrides layer without the named ones, or empty without `names` (`idleSince` goes with `userActivity`). */
export function withoutOverrides(current: ConditionLayer, names?: readonly ConditionName[]): ConditionLayer {
  if (names === undefined) return {};
  const next = { ...current };
  for (const name of names) delete next[name];
  if (names.includes('userActivity')) delete next.idleSince;
  return next;
}

/**
 * A frozen snapshot: each condition from the overrides if set there, else from `below` (a sensor
 * reading or a trace's sample, with its origin).
 */
export function mergeLayers(
  overrides: ConditionLayer,
  below: (name: ConditionName) => { readonly value: unknown; readonly origin: ConditionOrigin },
  readAt: number,
): ConditionsSnapshot {
  const conditions: Record<string, unknown> = {};
  const origins = {} as Record<ConditionName, ConditionOrigin>;
  for (const name of CONDITION_NAMES) {
    const { value, origin } =
      overrides[name] !== undefined ? { value: overrides[name], origin: 'override' as const } : below(name);
    conditions[name] = value;
    origins[name] = origin;
  }
  return Object.freeze({
    conditions: Object.freeze(conditions as unknown as Conditions),
    origins: Object.freeze(origins),
    readAt,
  });
}
