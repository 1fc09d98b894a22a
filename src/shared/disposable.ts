import type { Disposable } from './clock.js';

export type { Disposable };

export function toDisposable(dispose: () => void): Disposable {
  let done = false;
  return {
    dispose() {
      if (done) return;
      done = true;
      dispose();
    },
  };
}

/**
 * Owns disposables and releases them in reverse order of adding (last in, first out), keeping the first
 * error and rethrowing it after every one has been released.
 */
export class DisposableStore implements Disposable {
  #items: Disposable[] = [];
  #disposed = false;

  get isDisposed(): boolean {
    return this.#disposed;
  }

  add<T extends Disposable>(item: T): T {
    if (this.#disposed) {
      item.dispose();
      return item;
    }
    this.#items.push(item);
    return item;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    let first: unknown;
    for (const item of this.#items.reverse()) {
      try {
        item.dispose();
      } catch (error) {
        first ??= error;
      }
    }
    this.#items = [];
    if (first !== undefined) throw first;
  }
}
