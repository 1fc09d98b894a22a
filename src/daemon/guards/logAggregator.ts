/**
 * One log line per key (a connection's reason) per interval: the first at once, then at most one every
 * `everyMs` carrying how many were left out since. A client that repeats a mistake thousands of times
 * a second costs the log a line every few seconds, not a line per mistake.
 */
export class LogAggregator {
  readonly #now: () => number;
  readonly #everyMs: number;
  readonly #keys = new Map<string, { at: number; suppressed: number }>();

  constructor(now: () => number, everyMs = 10_000) {
    this.#now = now;
    this.#everyMs = everyMs;
  }

  /** Whether to write this line now, and how many of its key were left out since the last one. */
  note(key: string): { log: boolean; suppressed: number } {
    const now = this.#now();
    const entry = this.#keys.get(key);
    if (entry && now - entry.at < this.#everyMs) {
      entry.suppressed++;
      return { log: false, suppressed: 0 };
    }
    this.#keys.set(key, { at: now, suppressed: 0 });
    return { log: true, suppressed: entry?.suppressed ?? 0 };
  }

  /** Left-out counts not yet in a line, by key (for a last line when the connection closes). */
  drain(): [string, number][] {
    const left = [...this.#keys]
      .filter(([, entry]) => entry.suppressed > 0)
      .map(([key, entry]) => [key, entry.suppressed] as [string, number]);
    this.#keys.clear();
    return left;
  }
}
