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

/**
 * Device conditions a test sets by hand: on AC and online unless told otherwise. Each `set` that
 * changes a value tells the listeners at once, as a sensor reading would.
 */
export class ScriptedConditions implements ConditionsSource {
  #conditions: Conditions;
  #readAt = 0;
  readonly #listeners = new Set<(snapshot: ConditionsSnapshot) => void>();
  readonly #now: () => number;

  constructor(initial: Partial<Conditions> = {}, now: () => number = () => 0) {
    this.#conditions = { ...DEFAULT_CONDITIONS, power: 'ac', network: 'online', ...initial };
    this.#now = now;
  }

  current(): ConditionsSnapshot {
    const origins = Object.fromEntries(CONDITION_NAMES.map((name) => [name, 'override'])) as Record<ConditionName, ConditionOrigin>;
    return { conditions: this.#conditions, origins, readAt: this.#readAt };
  }

  set(partial: Partial<Conditions>): void {
    const next = { ...this.#conditions, ...partial };
    // Leaving `userActivity` for anything but idle forgets when the idleness began.
    if (partial.userActivity !== undefined && partial.userActivity !== 'idle' && partial.idleSince === undefined) next.idleSince = null;
    const changed = !sameConditions(next, this.#conditions);
    this.#conditions = next;
    this.#readAt = this.#now();
    if (changed) for (const listener of [...this.#listeners]) listener(this.current());
  }

  onDidChange(listener: (snapshot: ConditionsSnapshot) => void): Disposable {
    this.#listeners.add(listener);
    return { dispose: () => this.#listeners.delete(listener) };
  }
}
