import type { Disposable } from '../engine/clock.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  sameConditions,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
  type ConditionsSnapshot,
  type ConditionsSource,
} from '../engine/conditions.js';
import { conditionsSchema } from '../conditions/trace.js';
import { ChangeListeners } from '../conditions/changeListeners.js';

/** A condition a test gave that does not exist or has a value it cannot take. */
export class ConditionsValueError extends TypeError {
  override readonly name = 'ConditionsValueError';
  readonly code = 'invalidCondition';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/**
 * Checks conditions a test gives (`{ power: 'battery' }`): a misspelt name or an impossible value fails
 * here, naming it, instead of silently counting as "the condition holds".
 *
 * @throws {ConditionsValueError}
 */
export function checkConditions(partial: unknown): Partial<Conditions> {
  const parsed = conditionsSchema.partial().safeParse(partial ?? {});
  if (parsed.success) return parsed.data as Partial<Conditions>;
  const issue = parsed.error.issues[0];
  const field = (issue?.path ?? []).map(String).join('.') || 'conditions';
  throw new ConditionsValueError(
    `Invalid condition ${field}: ${issue?.message ?? 'invalid'} (see \`bgtasks ` +
      `conditions\` for the names and values)`,
    field,
  );
}

/**
 * Device conditions a test sets by hand: on AC and online unless told otherwise. Each `set` that
 * changes a value tells the listeners at once, as a sensor reading would.
 */
export class ScriptedConditions implements ConditionsSource {
  #conditions: Conditions;
  #readAt = 0;
  readonly #listeners = new ChangeListeners<ConditionsSnapshot>();
  readonly #now: () => number;

  constructor(initial: Partial<Conditions> = {}, now: () => number = () => 0) {
    this.#conditions = { ...DEFAULT_CONDITIONS, power: 'ac', network: 'online', ...checkConditions(initial) };
    this.#now = now;
  }

  current(): ConditionsSnapshot {
    const origins = Object.fromEntries(CONDITION_NAMES.map((name) => [name, 'override'])) as Record<
      ConditionName,
      ConditionOrigin
    >;
    return { conditions: this.#conditions, origins, readAt: this.#readAt };
  }

  /** @throws {ConditionsValueError} for an unknown name or a value it cannot take. */
  set(partial: Partial<Conditions>): void {
    partial = checkConditions(partial);
    const next = { ...this.#conditions, ...partial };
    // Leaving `userActivity` for anything but idle forgets when the idleness began.
    if (partial.userActivity !== undefined && partial.userActivity !== 'idle' && partial.idleSince === undefined)
      next.idleSince = null;
    const changed = !sameConditions(next, this.#conditions);
    this.#conditions = next;
    this.#readAt = this.#now();
    if (changed) this.#listeners.emit(this.current());
  }

  onDidChange(listener: (snapshot: ConditionsSnapshot) => void): Disposable {
    return this.#listeners.add(listener);
  }
}
