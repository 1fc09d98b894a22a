import type { Clock, Disposable } from '../../engine/clock.js';
import type { HistorySize, PruneResult, Store } from '../../store/store.js';
import type { SchedulerLog } from '../scheduler/ports.js';

/** How much history the store keeps; the defaults are in `DEFAULT_HISTORY_OPTIONS` (src/daemon/options.ts). */
export interface HistoryOptions {
  /** Finished runs and events older than this are pruned, in ms. */
  readonly retentionMs: number;
  /** Of each app, at most this many finished runs are kept (the newest), and four times as many events. */
  readonly maxRunsPerApp: number;
  /** How often the pruner looks for history to drop, in ms. */
  readonly pruneIntervalMs: number;
  /** Rows deleted per table in one transaction; the pruner goes on in more rounds, yielding between them. */
  readonly pruneBatchRows: number;
}

/** What `status` and `bgtasks doctor` show. */
export interface HistoryStatus extends HistorySize {
  readonly retentionMs: number;
  readonly maxRunsPerApp: number;
  /** When the last pruning pass ended (wall ms), null before the first. */
  readonly lastPrunedAt: number | null;
  /** Rows the last pass deleted. */
  readonly lastPruned: { readonly runs: number; readonly events: number } | null;
}

export interface HistoryPrunerDeps {
  readonly clock: Clock;
  readonly store: Store;
  readonly log: SchedulerLog;
  readonly options: HistoryOptions;
}

/** A pass stops after this many rounds and goes on at the next interval: one pass never hogs the store. */
const MAX_ROUNDS_PER_PASS = 1_000;

/**
 * Drops old history off the hot path: on a timer of the injected clock, in rounds of at most
 * `pruneBatchRows` rows per table, each its own short transaction (never one of the task writes), with
 * the event loop free between rounds. The store gives the space back (SQLite: incremental vacuum;
 * PostgreSQL: autovacuum makes it reusable).
 */
export class HistoryPruner implements Disposable {
  readonly #deps: HistoryPrunerDeps;
  #timer: Disposable | null = null;
  #size: HistorySize = { runs: 0, events: 0, bytes: null };
  #lastPrunedAt: number | null = null;
  #lastPruned: { runs: number; events: number } | null = null;
  #disposed = false;

  constructor(deps: HistoryPrunerDeps) {
    this.#deps = deps;
  }

  /** Reads the store's size now and schedules the first pass. */
  async start(): Promise<void> {
    this.#size = await this.#deps.store.historySize();
    // One interval after start, not at once: start-up (recovery, launches) has the store to itself, and
    // an idle daemon wakes for this once per interval only.
    this.#schedule(this.#deps.options.pruneIntervalMs);
  }

  status(): HistoryStatus {
    const { retentionMs, maxRunsPerApp } = this.#deps.options;
    const last = { lastPrunedAt: this.#lastPrunedAt, lastPruned: this.#lastPruned };
    return { ...this.#size, retentionMs, maxRunsPerApp, ...last };
  }

  /** One pass: rounds until nothing is left to drop (or the pass's cap); resolves with what it deleted. */
  async pass(): Promise<{ runs: number; events: number }> {
    const { store, clock, options } = this.#deps;
    const total = { runs: 0, events: 0 };
    for (let round = 0; round < MAX_ROUNDS_PER_PASS && !this.#disposed; round++) {
      const before = clock.now() - options.retentionMs;
      const policy = { before, keepRunsPerApp: options.maxRunsPerApp, limit: options.pruneBatchRows };
      const result: PruneResult = await store.pruneHistory(policy);
      total.runs += result.runs;
      total.events += result.events;
      if (!result.more) break;
      await new Promise<void>((resolve) => setImmediate(resolve)); // the socket and the scheduler go first
    }
    this.#lastPrunedAt = clock.now();
    this.#lastPruned = total;
    this.#size = await store.historySize();
    return total;
  }

  dispose(): void {
    this.#disposed = true;
    this.#timer?.dispose();
    this.#timer = null;
  }

  #schedule(delayMs: number): void {
    if (this.#disposed) return;
    this.#timer = this.#deps.clock.setTimer(delayMs, () => {
      const { log } = this.#deps;
      this.pass()
        .then(
          (total) => {
            if (total.runs + total.events === 0) return;
            const message = `pruned history: ${total.runs} runs and ${total.events} events`;
            log.info(message, { ...total, code: 'historyPruned' });
          },
          (error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            log.warn('could not prune history; trying again later', { error: message });
          },
        )
        .finally(() => this.#schedule(this.#deps.options.pruneIntervalMs));
    });
  }
}
