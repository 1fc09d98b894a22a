import type { Store, StoreBatch } from '../store/store.js';
import { coalesceRunWrites } from './coalesce.js';

interface Waiter {
  readonly batch: StoreBatch;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit: the writes made during one turn of the event loop go to the store together, in one
 * transaction, in the order they were made (with the writes to one run folded together, see
 * `coalesceRunWrites`); each caller's promise settles when that transaction has committed (or failed).
 * Transactions never overlap, so their order is the order of the writes.
 */
export class StoreWriter {
  readonly #store: Store;
  #queued: Waiter[] = [];
  #scheduled = false;
  #flushing: Promise<void> = Promise.resolve();
  readonly #listeners = new Set<(batch: StoreBatch) => void>();

  constructor(store: Store) {
    this.#store = store;
  }

  write(batch: StoreBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ batch, resolve, reject });
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

  #committed(batch: StoreBatch): void {
    for (const listener of this.#listeners) {
      try {
        listener(batch);
      } catch {
        // a watcher must not break the writer
      }
    }
  }

  /** Resolves once everything written so far has been committed (or has failed). */
  async drain(): Promise<void> {
    while (this.#scheduled || this.#queued.length > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      await this.#flushing;
    }
    await this.#flushing;
  }

  #flush(): void {
    this.#scheduled = false;
    const group = this.#queued;
    this.#queued = [];
    if (group.length === 0) return;
    this.#flushing = this.#flushing.then(async () => {
      try {
        await this.#store.apply(coalesceRunWrites(group.map((waiter) => waiter.batch)));
        for (const waiter of group) {
          waiter.resolve();
          this.#committed(waiter.batch);
        }
      } catch (error) {
        if (group.length === 1) {
          group[0]!.reject(error);
          return;
        }
        // One bad batch must not fail the others that shared its transaction: retry them one by one.
        for (const waiter of group) {
          try {
            await this.#store.apply(waiter.batch);
            waiter.resolve();
            this.#committed(waiter.batch);
          } catch (single) {
            waiter.reject(single);
          }
        }
      }
    });
  }
}
