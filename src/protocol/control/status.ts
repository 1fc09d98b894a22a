import type { ConditionsSnapshot } from '../../engine/conditions.js';
import type { HistoryStatus } from '../../daemon/history/historyPruner.js';
import { noArgs } from './args.js';
import { controlCommand } from './spec.js';

/** The storage fault that stops writes now (disk full, read-only). */
export interface StoreFault {
  readonly code: string;
  readonly message: string;
  readonly since: number;
}

export interface StatusResult {
  readonly version: string;
  readonly pid: number;
  readonly home: string;
  /** fault: the storage fault that stops writes now, or null. */
  readonly store: { readonly kind: string; readonly location: string; readonly fault: StoreFault | null };
  /** Runs and events kept, the store's size, the retention, and the last pruning (docs/reliability.md). */
  readonly history: HistoryStatus | null;
  /** In a fleet: which node this daemon is (see `bgtasks nodes` for the others). */
  readonly node: string | null;
  readonly startedAt: number;
  /** The policy profile in force, and why it was chosen. */
  readonly profile: { readonly name: string; readonly reason: string };
  /** Timer wake-ups since start, where the clock counts them: an idle daemon wakes only for its sensors. */
  readonly wakeups: number | null;
  readonly cpuMs: number;
  readonly backgroundAppRefresh: boolean;
  readonly apps: number;
  readonly pending: number;
  readonly running: number;
  readonly conditions: ConditionsSnapshot;
  /** Where the dashboard is served (without its token); null when it is not. */
  readonly dashboard: { readonly url: string; readonly port: number } | null;
}

/** `bgtasks status`: whether the daemon runs, and what it holds. */
export const status = controlCommand<StatusResult>()('status', noArgs);
