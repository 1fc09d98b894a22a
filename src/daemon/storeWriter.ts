import type { Clock, Disposable } from '../engine/clock.js';
import type { Store, StoreBatch } from '../store/store.js';
import { StoreError } from '../store/errors.js';
import { coalesceRunWrites } from './coalesce.js';
import { cappedBackoff } from '../engine/backoff.js';

interface Waiter {
  readonly batch: StoreBatch;
  /** The daemon's own bookkeeping (see {@link StoreWriter.retain}); otherwise a caller waits for the answer. */
  readonly retained: boolean;
  resolve(): void;
  reject(error: unknown): void;
}

export interface StoreWriterOptions {
  /** For the retries while the store cannot be written. */
  readonly clock: Clock;
  readonly log?: {
    warn(message: string, fields?: Record<string, unknown>): void;
    info(message: string, fields?: Record<string, unknown>): void;
  };
  /** First retry after a storage fault, in ms; it doubles up to `maxRetryMs`. @default 1000 */
  readonly retryMs?: number;
  /** @default 30_000 */
  readonly maxRetryMs?: number;
}

/** Faults of the place the store lives (disk full, read-only, locked, I/O): they pass, so writes are tried again. */
const ENVIRONMENTAL = new Set(['storeFull', 'storeReadOnly', 'storeBusy', 'storeFailed']);
/**
 * Retained batches kept while the store cannot be written; past this, new ones are refused (and logged by their
 * writers).
 */
const MAX_RETAINED = 100_000;
/** Written by a retry with nothing retained, to learn whether the store takes writes again. */
const PROBE_SETTING = 'store.probe';
/** Every batch here is built by the daemon's own typed code: the store skips its schema check. */
const TRUSTED = { trusted: true } as const;

function isEnvironmental(error: unknown): error is StoreError {
  return error instanceof StoreError && ENVIRONMENTAL.has(error.code);
}

/**
 * Group commit: the writes made during one turn of the event loop go to the store together, in one
 * transaction (and those of every turn that passes while a commit is in flight, in the next one), in the order they
 * were made (with the writes to one run folded together, see
 * `coalesceRunWrites`); each caller's promise settles when that transaction has committed (or failed).
 * Transactions never overlap, so their order is the order of the writes.
 *
 * When the store cannot be written (disk full, read-only, locked: {@link fault}), the writer is
 * degraded: {@link write} fails at once with the fault, so a caller is told and nothing is half-written,
 * while {@link retain}ed bookkeeping is kept in memory, in order, and committed by a retry once the store
 * takes writes again (every `retryMs`, doubling). Listeners of {@link onDidChangeHealth} hear both changes.
 */
export class StoreWriter implements Disposable {
  readonly #store: Store;
  readonly #options: Required<Omit<StoreWriterOptions, 'log'>> & Pick<StoreWriterOptions, 'log'>;
  #queued: Waiter[] = [];
  #scheduled = false;
  /** A commit is chained that will take whatever is queued when it starts. */
  #commitQueued = false;
  #flushing: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(batch: StoreBatch) => void>();
  readonly #healthListeners = new Set<(fault: StoreError | null) => void>();
  #fault: StoreError | null = null;
  #faultSince: number | null = null;
  #retained: Waiter[] = [];
  #retryTimer: Disposable | null = null;
  /** Retries since the store stopped taking writes: the next waits longer (capped backoff). */
  #retries = 0;

  constructor(store: Store, options: StoreWriterOptions) {
    this.#store = store;
    this.#options = { retryMs: 1_000, maxRetryMs: 30_000, ...options };
  }

  /** The storage fault that stops writes now, or null. */
  get fault(): { readonly code: string; readonly message: string; readonly since: number } | null {
    return this.#fault && { code: this.#fault.code, message: this.#fault.message, since: this.#faultSince ?? 0 };
  }

  /** Writes a batch for a caller who must know: rejects with the store's error (at once while degraded). */
  write(batch: StoreBatch): Promise<void> {
    return this.#enqueue(batch, false);
  }

  /**
   * Writes the daemon's own bookkeeping (runs, events): a storage fault does not reject it; it is kept
   * and committed, in order, once the store takes writes again. Rejects only for a batch the store
   * refuses on its own terms (`storeInvalid`: a bug), or when too much is already waiting.
   */
  retain(batch: StoreBatch): Promise<void> {
    return this.#enqueue(batch, true);
  }

  #enqueue(batch: StoreBatch, retained: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ batch, retained, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Calls `listener` with each batch after it has committed (for `bgtasks` watchers); returns an unsubscribe. */
  onDidCommit(listener: (batch: StoreBatch) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` with the fault when the store stops taking writes, and with null when it takes them again. */
  onDidChangeHealth(listener: (fault: StoreError | null) => void): () => void {
    this.#healthListeners.add(listener);
    return () => this.#healthListeners.delete(listener);
  }

  /** Resolves once everything written so far has been committed (or has failed, or is retained). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#queued.length > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.#flushing;
    }
    await this.#flushing;
  }

  dispose(): void {
    this.#retryTimer?.dispose();
    this.#retryTimer = null;
    if (this.#retained.length > 0) {
      // As after a crash: the store holds the state before the fault, and the next start recovers from it.
      this.#options.log?.warn(
        `${this.#retained.length} writes kept while the store could not be written ` +
          `are lost at stop; runs still active in the store are recovered as ` +
          `interrupted at the next start`,
      );
    }
  }

  #flush(): void {
    this.#scheduled = false;
    if (this.#queued.length === 0 || this.#commitQueued) return;
    // The group is taken when its commit starts, not now: the writes of every turn that passes while
    // the previous commit is in flight (a round trip to a database server) join one transaction.
    this.#commitQueued = true;
    this.#flushing = this.#flushing.then(() => {
      this.#commitQueued = false;
      const group = this.#queued;
      this.#queued = [];
      return group.length === 0 ? undefined : this.#commit(group);
    });
  }

  async #commit(group: Waiter[]): Promise<void> {
    if (this.#fault) return this.#hold(group);
    try {
      await this.#store.apply(coalesceRunWrites(group.map((waiter) => waiter.batch)), TRUSTED);
      this.#settled(group);
    } catch (error) {
      if (isEnvironmental(error)) {
        this.#degrade(error);
        return this.#hold(group);
      }
      if (group.length === 1) return group[0]!.reject(error);
      // One bad batch must not fail the others that shared its transaction: retry them one by one.
      for (const [index, waiter] of group.entries()) {
        try {
          await this.#store.apply(waiter.batch, TRUSTED);
          this.#settled([waiter]);
        } catch (single) {
          if (!isEnvironmental(single)) {
            waiter.reject(single);
            continue;
          }
          this.#degrade(single);
          return this.#hold(group.slice(index));
        }
      }
    }
  }

  #settled(waiters: readonly Waiter[]): void {
    for (const waiter of waiters) {
      waiter.resolve();
      for (const listener of this.#listeners) {
        try {
          listener(waiter.batch);
        } catch {
          // a watcher must not break the writer
        }
      }
    }
  }

  /** While degraded: a caller's write fails with the fault; bookkeeping waits for the retry. */
  #hold(waiters: readonly Waiter[]): void {
    for (const waiter of waiters) {
      if (!waiter.retained) waiter.reject(this.#fault);
      else if (this.#retained.length >= MAX_RETAINED)
        waiter.reject(
          new StoreError(
            this.#fault!.code,
            `${MAX_RETAINED} writes already wait for the store: ${this.#fault!.message}`,
          ),
        );
      else this.#retained.push(waiter);
    }
  }

  #degrade(fault: StoreError): void {
    if (this.#fault) return;
    this.#fault = fault;
    this.#faultSince = this.#options.clock.now();
    this.#retries = 0;
    this.#options.log?.warn(
      `the store cannot be written (${fault.code}): ${fault.message}; writes are ` +
        `refused and the daemon's own are kept until it can`,
      { code: fault.code },
    );
    this.#emitHealth(fault);
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    this.#retryTimer?.dispose();
    this.#retryTimer = this.#options.clock.setTimer(
      cappedBackoff(this.#options.retryMs, this.#options.maxRetryMs, this.#retries++),
      () => {
        this.#retryTimer = null;
        this.#flushing = this.#flushing.then(() => this.#retry());
      },
    );
  }

  /** Commits what was retained (and a probe) in one transaction; on success the writer is healthy again. */
  async #retry(): Promise<void> {
    const held = this.#retained;
    const probe: StoreBatch = { settings: { [PROBE_SETTING]: this.#options.clock.now() } };
    try {
      await this.#store.apply([...coalesceRunWrites(held.map((waiter) => waiter.batch)), probe], TRUSTED);
    } catch (error) {
      if (!isEnvironmental(error)) {
        // Not the disk: a retained batch the store refuses. Drop that one (its writer logs it), keep the rest.
        this.#retained = await this.#applyOneByOne(held);
      }
      if (this.#fault) this.#scheduleRetry();
      return;
    }
    this.#retained = [];
    this.#settled(held);
    this.#recovered(held.length);
  }

  async #applyOneByOne(held: readonly Waiter[]): Promise<Waiter[]> {
    for (const [index, waiter] of held.entries()) {
      try {
        await this.#store.apply(waiter.batch, TRUSTED);
        this.#settled([waiter]);
      } catch (error) {
        if (isEnvironmental(error)) return held.slice(index);
        waiter.reject(error);
      }
    }
    this.#recovered(held.length);
    return [];
  }

  #recovered(committed: number): void {
    const fault = this.#fault;
    if (!fault) return;
    this.#fault = null;
    this.#faultSince = null;
    this.#options.log?.info(`the store takes writes again (it was ${fault.code}); ${committed} kept writes committed`);
    this.#emitHealth(null);
  }

  #emitHealth(fault: StoreError | null): void {
    for (const listener of this.#healthListeners) {
      try {
        listener(fault);
      } catch {
        // a listener must not break the writer
      }
    }
  }
}
