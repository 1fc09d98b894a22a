/**
 * One watched path, through `fs.watch` (inotify on Linux, FSEvents/kqueue on macOS): a directory reports
 * its entries' changes (not recursively), a file its own. A path that does not exist yet, or that goes
 * away, is looked for again every `retryMs` until it is there. Disposable: the watcher and the timer end.
 */
import { watch, type FSWatcher } from 'node:fs';
import type { Clock, Disposable } from '../engine/clock.js';

export interface PathWatchDeps {
  readonly clock: Clock;
  /** How often a missing path is looked for. */
  readonly retryMs: number;
  /** A change: `name` is the directory entry that changed, or null for the watched path itself. */
  readonly onEvent: (name: string | null) => void;
}

export class PathWatch implements Disposable {
  #watcher: FSWatcher | null = null;
  #retry: Disposable | null = null;
  #disposed = false;

  constructor(
    readonly path: string,
    private readonly deps: PathWatchDeps,
  ) {
    this.#start();
  }

  get watching(): boolean {
    return this.#watcher !== null;
  }

  #start(): void {
    if (this.#disposed) return;
    try {
      const watcher = watch(this.path, { persistent: false }, (_type, name) =>
        this.deps.onEvent(name === null ? null : String(name)),
      );
      watcher.on('error', () => this.#lost());
      this.#watcher = watcher;
    } catch {
      this.#lost();
    }
  }

  /** Gone (or never there): look again later; its appearance is a change. */
  #lost(): void {
    this.#watcher?.close();
    this.#watcher = null;
    if (this.#disposed || this.#retry) return;
    this.#retry = this.deps.clock.setTimer(this.deps.retryMs, () => {
      this.#retry = null;
      this.#start();
      if (this.#watcher) this.deps.onEvent(null);
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.#watcher?.close();
    this.#watcher = null;
    this.#retry?.dispose();
    this.#retry = null;
  }
}
