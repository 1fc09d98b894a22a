import type { AppUsageSummary } from '../../engine/appUsage.js';
import type { BudgetUse } from '../../engine/policy.js';
import { MODE_FOR_KIND, TASK_KINDS, type AppRecord, type TaskKind } from '../../engine/types.js';
import type { MetricsRegistry } from './registry.js';

/**
 * What the scrape-time gauges read: the scheduler's in-memory state (no store query, so a scrape costs
 * the same with a year of history as with none) and a few facts fixed at start.
 */
export interface DaemonState {
  readonly scheduler: {
    readonly queue: { all(): Iterable<{ readonly request: { readonly appId: string; readonly kind: TaskKind } }> };
    readonly runs: { all(): Iterable<{ readonly run: { readonly appId: string } }> };
    readonly apps: { all(): Iterable<{ readonly record: AppRecord }> };
    readonly backgroundAppRefresh: boolean;
    /** The same budgets `bgtasks apps` shows. */
    usageOf(appId: string): AppUsageSummary | undefined;
    pushesWaiting(appId: string): { readonly waiting: number; readonly held: number };
  };
  /** Whether the store refuses writes now (disk full, read-only): `StoreWriter.fault`. */
  storeFaulted(): boolean;
  readonly version: string;
  readonly storeKind: string;
  readonly profile: string;
  /** This machine's id in a fleet; null on a store of one machine. */
  readonly nodeId: string | null;
  /** Wall-clock ms. */
  readonly startedAt: number;
  /** In a fleet, what this node claimed from the pool (src/daemon/fleet/claimStats.ts); absent otherwise. */
  readonly fleetClaims?: {
    readonly total: number;
    lastMinute(monotonicMs: number): { readonly claimsPerMinute: number; readonly claimLagMs: number | null };
  } | null;
  /** The daemon's monotonic clock, for `fleetClaims`. */
  readonly monotonic?: () => number;
}

/** The budgets of `AppUsageSummary`, with the label value and the factor to the exposed unit. */
const BUDGETS: readonly {
  readonly label: string;
  readonly key: 'launches' | 'backgroundSeconds' | 'backgroundCpuMs';
  readonly scale: number;
}[] = [
  { label: 'launches', key: 'launches', scale: 1 },
  { label: 'seconds', key: 'backgroundSeconds', scale: 1 },
  { label: 'cpuSeconds', key: 'backgroundCpuMs', scale: 1 / 1000 },
];

/** Registers the gauges read from the daemon's state at each scrape. */
export function registerStateGauges(registry: MetricsRegistry, state: DaemonState): void {
  const { scheduler } = state;
  const apps = (): AppRecord[] => [...scheduler.apps.all()].map((app) => app.record);
  registry.collected({
    name: 'bgtasks_info',
    help:
      'Always 1; the labels say which daemon this is: version, store kind, policy ' +
      'profile, and in a fleet the node id.',
    type: 'gauge',
    labelNames: ['version', 'store_kind', 'profile', 'node'],
    collect: (emit) =>
      emit(
        { version: state.version, store_kind: state.storeKind, profile: state.profile, node: state.nodeId ?? '' },
        1,
      ),
  });
  registry.collected({
    name: 'bgtasks_daemon_start_time_seconds',
    help: 'When the daemon started, in seconds since the Unix epoch.',
    type: 'gauge',
    collect: (emit) => emit({}, state.startedAt / 1000),
  });
  const claims = state.fleetClaims;
  if (claims) {
    registry.collected({
      name: 'bgtasks_fleet_claimed_total',
      help: 'Pool requests this fleet node claimed since it started.',
      type: 'counter',
      collect: (emit) => emit({}, claims.total),
    });
    registry.collected({
      name: 'bgtasks_fleet_claim_lag_seconds',
      help:
        'How long the pool requests this node claimed in the last minute had been due ' +
        'when claimed, on average; 0 when it claimed none.',
      type: 'gauge',
      collect: (emit) => emit({}, (claims.lastMinute(state.monotonic?.() ?? 0).claimLagMs ?? 0) / 1000),
    });
  }
  registry.collected({
    name: 'bgtasks_queue_depth',
    help:
      'Pending requests (waiting for their time, their conditions or a slot), by ' +
      'app and kind; 0 for each kind an installed app may submit.',
    type: 'gauge',
    labelNames: ['app', 'kind'],
    collect: (emit) => {
      const depth = new Map<string, Map<TaskKind, number>>();
      for (const record of apps()) {
        const kinds = new Map<TaskKind, number>();
        for (const kind of TASK_KINDS) if (record.backgroundModes.includes(MODE_FOR_KIND[kind])) kinds.set(kind, 0);
        depth.set(record.appId, kinds);
      }
      for (const { request } of scheduler.queue.all()) {
        const kinds = depth.get(request.appId) ?? new Map<TaskKind, number>();
        kinds.set(request.kind, (kinds.get(request.kind) ?? 0) + 1);
        depth.set(request.appId, kinds);
      }
      for (const [app, kinds] of depth) for (const [kind, count] of kinds) emit({ app, kind }, count);
    },
  });
  registry.collected({
    name: 'bgtasks_tasks_running',
    help: 'Runs not finished (being launched for, running, or expired and in their grace period), by app.',
    type: 'gauge',
    labelNames: ['app'],
    collect: (emit) => {
      const running = new Map(apps().map((record) => [record.appId, 0]));
      for (const { run } of scheduler.runs.all()) running.set(run.appId, (running.get(run.appId) ?? 0) + 1);
      for (const [app, count] of running) emit({ app }, count);
    },
  });
  registry.collected({
    name: 'bgtasks_pushes_waiting',
    help: 'Background pushes received and not yet delivered, by app (apps with the remote-notification mode).',
    type: 'gauge',
    labelNames: ['app'],
    collect: (emit) => {
      for (const record of apps())
        if (record.backgroundModes.includes('remote-notification'))
          emit({ app: record.appId }, scheduler.pushesWaiting(record.appId).waiting);
    },
  });
  const budgets =
    (read: (use: BudgetUse, scale: number) => number | null) =>
    (emit: (labels: { app: string; budget: string }, value: number) => void) => {
      for (const record of apps()) {
        const usage = scheduler.usageOf(record.appId);
        if (!usage) continue;
        for (const { label, key, scale } of BUDGETS) {
          const value = read(usage[key], scale);
          if (value !== null) emit({ app: record.appId, budget: label }, value);
        }
      }
    };
  const help = 'launches (count), seconds (of background running) and cpuSeconds, over the last 24 hours';
  registry.collected({
    name: 'bgtasks_budget_used',
    help: `Background budget used per app: ${help}.`,
    type: 'gauge',
    labelNames: ['app', 'budget'],
    collect: budgets((use, scale) => use.used * scale),
  });
  registry.collected({
    name: 'bgtasks_budget_limit',
    help: `Background budget per app (with its usage bonus): ${help}; absent when unlimited.`,
    type: 'gauge',
    labelNames: ['app', 'budget'],
    collect: budgets((use, scale) => (Number.isFinite(use.limit) ? use.limit * scale : null)),
  });
  registry.collected({
    name: 'bgtasks_budget_used_ratio',
    help:
      `Background budget used over its limit per app (1: exhausted, the app ` +
      `waits): ${help}; absent when unlimited.`,
    type: 'gauge',
    labelNames: ['app', 'budget'],
    collect: budgets((use) => (!Number.isFinite(use.limit) ? null : use.limit === 0 ? 1 : use.used / use.limit)),
  });
  registry.collected({
    name: 'bgtasks_background_app_refresh_enabled',
    help: '1 while Background App Refresh is on for all apps (bgtasks apps enable ' + '--all), 0 while off.',
    type: 'gauge',
    collect: (emit) => emit({}, scheduler.backgroundAppRefresh ? 1 : 0),
  });
  registry.collected({
    name: 'bgtasks_store_faulted',
    help:
      '1 while the store refuses writes (disk full, read-only, locked): no task ' + 'starts until it takes them again.',
    type: 'gauge',
    collect: (emit) => emit({}, state.storeFaulted() ? 1 : 0),
  });
}

/** The process's own, under the names every Prometheus client library uses. */
export function registerProcessMetrics(registry: MetricsRegistry, processStartedAt: number): void {
  registry.collected({
    name: 'process_cpu_seconds_total',
    help: "User and system CPU time the daemon's process spent, in seconds.",
    type: 'counter',
    collect: (emit) => {
      const usage = process.cpuUsage();
      emit({}, (usage.user + usage.system) / 1e6);
    },
  });
  registry.collected({
    name: 'process_resident_memory_bytes',
    help: "Resident memory of the daemon's process, in bytes.",
    type: 'gauge',
    collect: (emit) => emit({}, process.memoryUsage.rss()),
  });
  registry.collected({
    name: 'process_start_time_seconds',
    help: "When the daemon's process started, in seconds since the Unix epoch.",
    type: 'gauge',
    collect: (emit) => emit({}, processStartedAt / 1000),
  });
}
