import type { Disposable } from '../../engine/clock.js';
import type { StoreBatch } from '../../store/store.js';
import { sameToken } from '../http/auth.js';
import type { SchedulerLog } from '../scheduler/ports.js';
import { registerProcessMetrics, registerStateGauges, type DaemonState } from './gauges.js';
import { ensureMetricsToken } from './metricsToken.js';
import { MetricsRegistry } from './registry.js';
import { TaskMetrics } from './taskMetrics.js';

/** What the metrics hear from the store writer: committed batches and changes of its health. */
export interface CommitSource {
  onDidCommit(listener: (batch: StoreBatch) => void): () => void;
  onDidChangeHealth(listener: (fault: unknown) => void): () => void;
}

/** When this process started (the daemon's own start time is `DaemonState.startedAt`). */
const PROCESS_STARTED_AT = Date.now() - process.uptime() * 1000;

/**
 * The daemon's metrics: one registry, fed from the committed-batch stream from the moment the writer
 * exists (so no dispatch made while the scheduler starts is missed), with the gauges of the daemon's
 * state added once the scheduler is up ({@link observe}). `GET /metrics` renders it (see
 * http/metricsRoute.ts). See docs/metrics.md.
 */
export class DaemonMetrics implements Disposable {
  readonly registry: MetricsRegistry;
  readonly #token: string;
  readonly #unsubscribe: (() => void)[];

  constructor(options: { readonly home: string; readonly writer: CommitSource; readonly log: SchedulerLog }) {
    const { log } = options;
    this.registry = new MetricsRegistry({
      onCollectError: (name, error) =>
        log.error(`metrics: could not read ${name}; it is left out of this scrape`, {
          error: error instanceof Error ? error.message : String(error),
        }),
    });
    this.#token = ensureMetricsToken(options.home);
    const tasks = new TaskMetrics(this.registry);
    const faults = this.registry.counter({
      name: 'bgtasks_store_write_faults_total',
      help: 'Times the store stopped taking writes (disk full, read-only, locked, I/O ' + 'error).',
    });
    this.#unsubscribe = [
      options.writer.onDidCommit((batch) => tasks.committed(batch)),
      options.writer.onDidChangeHealth((fault) => {
        if (fault !== null) faults.inc({});
      }),
    ];
    registerProcessMetrics(this.registry, PROCESS_STARTED_AT);
  }

  /** Adds the gauges read from the daemon's state at each scrape. */
  observe(state: DaemonState): void {
    registerStateGauges(this.registry, state);
  }

  /** Whether `token` is the metrics token (`<home>/metrics-token`), in constant time. */
  verify(token: string): boolean {
    return sameToken(token, this.#token);
  }

  render(): string {
    return this.registry.render();
  }

  dispose(): void {
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
  }
}
