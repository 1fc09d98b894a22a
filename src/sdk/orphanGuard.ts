/**
 * What a process the daemon launched does when that daemon goes away for good.
 *
 * When the link drops, the task runner aborts every open task at once (its signal, its expiration
 * handler): the daemon records those runs as interrupted when it starts again, or, in a fleet, another
 * node takes them over when the lost node's lease runs out, and they run again. A handler that ignores
 * its signal would go on and finish work that is being redone elsewhere, and a background process has
 * no one else to stop it: its daemon was its only reason to run. So after a short grace (a daemon
 * restarted by its service manager is back within it) the process tries the daemon once more, and
 * exits if it is still gone. A process a person started is never ended here.
 */

/** How long a launched process waits for its daemon to come back before it exits. */
export const ORPHAN_GRACE_MS = 5_000;

export interface OrphanGuardHooks {
  /** Whether the daemon launched this process for background work (not a person). */
  launchedByDaemon(): boolean;
  /** Whether the scheduler is closed (nothing to guard any more). */
  closed(): boolean;
  /** Tries to connect and greet the daemon again; rejects when it cannot. */
  reconnect(): Promise<unknown>;
  exit(code: number): void;
  log(level: 'info' | 'warn', message: string): void;
}

export class OrphanGuard {
  readonly #hooks: OrphanGuardHooks;
  readonly #graceMs: number;
  #timer: NodeJS.Timeout | null = null;

  constructor(hooks: OrphanGuardHooks, graceMs = ORPHAN_GRACE_MS) {
    this.#hooks = hooks;
    this.#graceMs = graceMs;
  }

  /** The link to the daemon dropped: start the grace (once). */
  linkLost(): void {
    if (this.#timer || this.#hooks.closed() || !this.#hooks.launchedByDaemon()) return;
    this.#timer = setTimeout(() => void this.#check(), this.#graceMs);
    // The grace alone must not keep the process alive: one with nothing left to do may end by itself.
    this.#timer.unref();
  }

  /** The link is up again, or the scheduler closed: no exit. */
  cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #check(): Promise<void> {
    this.#timer = null;
    if (this.#hooks.closed()) return;
    try {
      await this.#hooks.reconnect();
      this.#hooks.log('info', 'the daemon is back');
    } catch {
      if (this.#hooks.closed()) return;
      this.#hooks.log(
        'warn',
        `the daemon that launched this process has been gone for ${this.#graceMs} ` +
          `ms: exiting (its tasks were aborted and run again)`,
      );
      this.#hooks.exit(1);
    }
  }
}
