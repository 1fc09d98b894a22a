import type { Disposable } from '../engine/clock.js';

/**
 * The listeners of a conditions source (`onDidChange`), the one plumbing behind the daemon's
 * `DeviceConditions` and the testing kit's trace and scripted conditions:
 * - each subscription is its own, so one function subscribed twice is called twice and disposed once each;
 * - a listener that subscribes or unsubscribes during an event does not skew that event (a copy is walked);
 * - a listener that throws does not stop the others. Its error goes to `onError` when there is one (a hook
 *   that throws is swallowed: it is the last line of defence); without one, the first error is rethrown
 *   once every listener has run, so a test sees it.
 */
export class ChangeListeners<T> {
  readonly #entries = new Set<{ readonly fn: (value: T) => void }>();
  readonly #onError: ((error: unknown) => void) | undefined;

  constructor(onError?: (error: unknown) => void) {
    this.#onError = onError;
  }

  add(listener: (value: T) => void): Disposable {
    const entry = { fn: listener };
    this.#entries.add(entry);
    return { dispose: () => void this.#entries.delete(entry) };
  }

  emit(value: T): void {
    let first: { error: unknown } | undefined;
    for (const entry of [...this.#entries]) {
      try {
        entry.fn(value);
      } catch (error) {
        if (this.#onError) safeCall(this.#onError, error);
        else first ??= { error };
      }
    }
    if (first) throw first.error;
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** Error hooks are the last line of defence: one that throws must not break polling or events. */
export function safeCall(hook: (error: unknown) => void, error: unknown): void {
  try {
    hook(error);
  } catch {
    // Nothing sensible left to report to.
  }
}
