/**
 * Condition overrides, as `bgtasks conditions set power=battery network=offline batteryLevel=15` gives
 * them and as the store keeps them. Only real states can be forced: `'unknown'` is what a sensor says
 * when it knows nothing, so it is never a useful thing to pretend.
 *
 * `idleSince` is not set directly: `userActivity=idle` sets it to null ("idle long enough"), and any
 * other activity also to null, so an override never leaves a stale sensor timestamp beside it.
 */
import { z } from 'zod';

import type { Conditions } from '../engine/conditions.js';

const powerOverride = z.enum(['ac', 'battery']);
const networkOverride = z.enum(['online', 'offline']);
const batteryLevelOverride = z.number().int().min(0).max(100);
const networkCostOverride = z.enum(['metered', 'unmetered']);
const userActivityOverride = z.enum(['active', 'idle', 'noSeat']);
const levelOverride = z.enum(['nominal', 'fair', 'serious', 'critical']);

/** Validates overrides read back from storage: a strict object, so a misspelt key is an error, not ignored. */
export const conditionOverridesSchema = z.strictObject({
  power: powerOverride.optional(),
  network: networkOverride.optional(),
  batteryLevel: batteryLevelOverride.optional(),
  lowPowerMode: z.boolean().optional(),
  networkCost: networkCostOverride.optional(),
  userActivity: userActivityOverride.optional(),
  // Only ever null: set alongside userActivity (see the module comment), kept so stored overrides round-trip.
  idleSince: z.null().optional(),
  thermalState: levelOverride.optional(),
  cpuPressure: levelOverride.optional(),
  memoryPressure: levelOverride.optional(),
  ioPressure: levelOverride.optional(),
});

/** Overrides as stored; assignable to `Partial<Conditions>`. */
export type ConditionOverrides = z.infer<typeof conditionOverridesSchema>;

/** Names that can be given on the command line (`idleSince` follows `userActivity`). */
export type OverridableCondition = Exclude<keyof ConditionOverrides, 'idleSince'>;

/** One line listing every valid assignment, for error messages and `--help`. */
export const VALID_CONDITION_ASSIGNMENTS =
  'power=ac|battery, network=online|offline, batteryLevel=0..100 (integer), lowPowerMode=on|off, ' +
  'networkCost=metered|unmetered, userActivity=active|idle|noSeat, ' +
  'thermalState|cpuPressure|memoryPressure|ioPressure=nominal|fair|serious|critical';

const LEVELS = 'nominal, fair, serious or critical';

/** How each name's text value is checked; the schemas turn the text into the stored type. */
const FIELDS: Record<OverridableCondition, { readonly schema: z.ZodType; readonly expected: string }> = {
  power: { schema: powerOverride, expected: 'ac or battery' },
  network: { schema: networkOverride, expected: 'online or offline' },
  // Digits only: Number() alone would take '', ' 15', '1e1' and '0x0f'.
  batteryLevel: {
    schema: z
      .string()
      .regex(/^\d{1,3}$/)
      .transform(Number)
      .pipe(batteryLevelOverride),
    expected: 'an integer from 0 to 100',
  },
  lowPowerMode: { schema: z.enum(['on', 'off']).transform((value) => value === 'on'), expected: 'on or off' },
  networkCost: { schema: networkCostOverride, expected: 'metered or unmetered' },
  userActivity: { schema: userActivityOverride, expected: 'active, idle or noSeat' },
  thermalState: { schema: levelOverride, expected: LEVELS },
  cpuPressure: { schema: levelOverride, expected: LEVELS },
  memoryPressure: { schema: levelOverride, expected: LEVELS },
  ioPressure: { schema: levelOverride, expected: LEVELS },
};

/**
 * A condition assignment that cannot be used. `field` names the condition at fault, or is undefined when
 * the argument has no recognisable name (`=battery`, `power`).
 */
export class ConditionsInputError extends Error {
  override readonly name = 'ConditionsInputError';
  readonly code = 'invalidCondition';
  constructor(
    message: string,
    readonly field: string | undefined,
  ) {
    super(`${message}. Valid conditions: ${VALID_CONDITION_ASSIGNMENTS}`);
  }
}

/**
 * Parses `name=value` arguments into overrides.
 *
 * @throws {ConditionsInputError} for an argument that is not `name=value`, an unknown name, a value the
 *   name does not take, or a name given twice (which of two contradicting values was meant is a guess).
 * @returns The overrides; `{}` for no arguments (the CLI decides whether that is an error).
 */
export function parseConditionAssignments(args: readonly string[]): Partial<Conditions> {
  const result: Record<string, unknown> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.trim() : arg.slice(0, eq).trim();
    if (eq <= 0 || name === '') {
      throw new ConditionsInputError(
        `Expected name=value, got ${JSON.stringify(arg)}`,
        isOverridable(name) ? name : undefined,
      );
    }
    if (!isOverridable(name)) throw new ConditionsInputError(`Unknown condition ${JSON.stringify(name)}`, name);
    if (Object.hasOwn(result, name))
      throw new ConditionsInputError(`Condition ${JSON.stringify(name)} is given more than once`, name);

    const value = arg.slice(eq + 1).trim();
    const field = FIELDS[name];
    const parsed = field.schema.safeParse(value);
    if (!parsed.success) {
      throw new ConditionsInputError(
        `Invalid value ${JSON.stringify(value)} for ${name}: expected ` + `${field.expected}`,
        name,
      );
    }
    result[name] = parsed.data;
    // An overridden activity carries no real timestamp: null is "idle long enough" for idle, and the
    // only value that makes sense beside active or noSeat.
    if (name === 'userActivity') result.idleSince = null;
  }
  // Every value passed its field's schema above; this parse only gives the result its type.
  return conditionOverridesSchema.parse(result);
}

function isOverridable(name: string): name is OverridableCondition {
  // hasOwn, not `in`: `constructor=1` must be an unknown name, not a lookup on Object.prototype.
  return Object.hasOwn(FIELDS, name);
}
