/**
 * One picture of the whole system, for the person at the machine: what runs (with progress), what waits
 * in line and why, what ran lately, the device's conditions and the apps. `bgtasks top` and the web
 * dashboard draw it; the `snapshot` control command and `GET /v1/snapshot` return it.
 */
import { scheduleLabel } from '../engine/scheduleLabel.js';
import type { RanOnceWarning } from '../engine/ranOnce.js';
import type { AppUsageSummary } from '../engine/appUsage.js';
import type { ConditionsSnapshot } from '../engine/conditions.js';
import type { TaskKind, TaskRun } from '../engine/types.js';
import type { PrerequisiteState } from '../engine/dependencies.js';
import type { Store } from '../store/store.js';
import type { ActiveRun } from './scheduler/activeRuns.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { NotificationCenter } from './notifications/notificationCenter.js';
import type { NotificationAuthorization, NotificationRecord } from '../engine/notifications.js';
import type { FleetStore } from '../store/fleet.js';
import { fleetRequestView, fleetRunView, nodeView } from './commands/fleet.js';
import type { FleetRequestView, FleetRunView, NodeView } from '../protocol/control/index.js';

export interface ProgressView {
  readonly completed: number;
  readonly total: number;
  /** 0 to 1. */
  readonly fraction: number;
}

export interface RunningTaskView {
  readonly taskId: string;
  readonly appId: string;
  readonly identifier: string;
  readonly kind: TaskKind;
  readonly state: TaskRun['state'];
  readonly title: string | null;
  readonly subtitle: string | null;
  readonly progress: ProgressView | null;
  readonly startedAt: number | null;
  readonly deadlineAt: number | null;
  readonly elapsedMs: number;
  /** From the progress so far, when there is any. */
  readonly estimatedRemainingMs: number | null;
  readonly launch: TaskRun['launch'];
  readonly background: boolean;
}

export interface PendingRequestView {
  readonly appId: string;
  readonly identifier: string;
  readonly kind: TaskKind;
  readonly title: string | null;
  readonly subtitle: string | null;
  readonly earliestBeginAt: number | null;
  readonly submittedAt: number;
  readonly eligible: boolean;
  /** Reason codes of what holds it, the deciding one first. */
  readonly reasons: readonly string[];
  /** One sentence: what holds it (the first blocker), or null when eligible. */
  readonly message: string | null;
  /** For queued continued processing requests: the place in line, from 1. */
  readonly queuePosition: number | null;
  /** For a dependent (docs/workflows.md): its prerequisites and where each stands; the dashboard draws the chain. */
  readonly prerequisites?: readonly { readonly identifier: string; readonly state: PrerequisiteState }[];
  /** What makes it recur or fire (`every 15 min, period 3`, `calendar "daily", period 2`), or null. */
  readonly schedule?: string | null;
}

export interface AppView {
  readonly appId: string;
  readonly enabled: boolean;
  readonly connected: boolean;
  readonly pending: number;
  readonly running: number;
  readonly usage: AppUsageSummary | null;
  /** Whether the person lets it post notifications. */
  readonly notifications: NotificationAuthorization;
  /** Its undelivered background pushes, and how many of them wait for the person (force-quit, switched off). */
  readonly pushes: { readonly waiting: number; readonly held: number };
  /** Its refreshes that ran once and will not run again (src/engine/ranOnce.ts): a warning on its card. */
  readonly ranOnce: readonly RanOnceWarning[];
}

/** A notification as the dashboard lists it. */
export type NotificationView = Omit<NotificationRecord, 'desktop' | 'handedAt'>;

export interface SystemSnapshot {
  readonly at: number;
  readonly daemonVersion: string;
  readonly profile: string;
  readonly backgroundAppRefresh: boolean;
  readonly conditions: ConditionsSnapshot;
  readonly running: readonly RunningTaskView[];
  readonly pending: readonly PendingRequestView[];
  /** Finished runs, newest first. */
  readonly recent: readonly TaskRun[];
  readonly apps: readonly AppView[];
  /** The latest notifications apps posted, newest first. */
  readonly notifications: readonly NotificationView[];
  /** Apps that asked to post notifications and wait for the person's answer. */
  readonly notificationRequests: readonly string[];
  /** Only in fleet mode (a store shared by many machines): the nodes, the pool and the latest runs. */
  readonly fleet?: FleetSnapshot;
}

/** The fleet as the dashboard draws it. */
export interface FleetSnapshot {
  /** This node. */
  readonly nodeId: string;
  /** Every node that has joined, with its state at the snapshot's time. */
  readonly nodes: readonly NodeView[];
  /** Pool requests (placement `any`), oldest submission first, at most {@link FLEET_POOL_LIMIT}. */
  readonly pool: readonly FleetRequestView[];
  /** How many pool requests there are in all. */
  readonly poolSize: number;
  /** The latest runs anywhere in the fleet, newest first, with their node. */
  readonly runs: readonly FleetRunView[];
}

/** The most pool requests a snapshot carries; the rest are counted in `poolSize`. */
export const FLEET_POOL_LIMIT = 50;

export interface SnapshotSources {
  readonly scheduler: Scheduler;
  readonly store: Store;
  readonly conditions: () => ConditionsSnapshot;
  readonly now: () => number;
  readonly daemonVersion: string;
  readonly profile: string;
  readonly notifications: Pick<NotificationCenter, 'list' | 'requests' | 'authorization'>;
  /** The shared store in fleet mode; absent or null otherwise (the snapshot then has no `fleet`). */
  readonly fleet?: Pick<FleetStore, 'nodeId' | 'listNodes' | 'pagePool' | 'listFleetRuns'> | null;
}

export async function buildSnapshot(
  sources: SnapshotSources,
  options: { readonly recent?: number; readonly notifications?: number; readonly fleetRuns?: number } = {},
): Promise<SystemSnapshot> {
  const { scheduler, store } = sources;
  const now = sources.now();
  const running = [...scheduler.runs.all()].map((active) => runningView(active, now));
  const views = scheduler.pending();
  const dependents = new Map(
    scheduler
      .dependents()
      .map((view) => [view.requestId, view.prerequisites.map(({ identifier, state }) => ({ identifier, state }))]),
  );
  const pending = views.map(({ request, eligible, blockers }): PendingRequestView => ({
    appId: request.appId,
    identifier: request.identifier,
    kind: request.kind,
    title: request.continued?.title ?? null,
    subtitle: request.continued?.subtitle ?? null,
    earliestBeginAt: request.earliestBeginAt,
    submittedAt: request.submittedAt,
    eligible,
    reasons: blockers.map((blocker) => blocker.reason),
    message: blockers[0]?.message ?? null,
    queuePosition: scheduler.queuePosition(request.appId, request.identifier),
    ...(dependents.has(request.requestId) ? { prerequisites: dependents.get(request.requestId)! } : {}),
    schedule: scheduleLabel(request),
  }));
  const recent = (await store.listRuns({ limit: (options.recent ?? 50) + running.length }))
    .filter((run) => run.state === 'finished')
    .slice(0, options.recent ?? 50);
  const ranOnce = new Map(
    await Promise.all(
      [...scheduler.apps.all()].map(
        async (app) => [app.record.appId, await scheduler.ranOnce(app.record.appId)] as const,
      ),
    ),
  );
  const apps = [...scheduler.apps.all()]
    .map((app): AppView => ({
      appId: app.record.appId,
      enabled: app.record.enabled,
      connected: app.instances.size > 0,
      pending: views.filter((view) => view.request.appId === app.record.appId).length,
      running: scheduler.runs.countForApp(app.record.appId),
      usage: scheduler.usageOf(app.record.appId) ?? null,
      notifications: sources.notifications.authorization(app.record.appId).status,
      pushes: scheduler.pushesWaiting(app.record.appId),
      ranOnce: ranOnce.get(app.record.appId) ?? [],
    }))
    .sort((a, b) => a.appId.localeCompare(b.appId));
  return {
    at: now,
    daemonVersion: sources.daemonVersion,
    profile: sources.profile,
    backgroundAppRefresh: scheduler.backgroundAppRefresh,
    conditions: sources.conditions(),
    running,
    pending,
    recent,
    apps,
    notifications: (await sources.notifications.list({ limit: options.notifications ?? 20 })).map(
      ({ desktop: _desktop, handedAt: _handed, ...view }) => view,
    ),
    notificationRequests: sources.notifications.requests().map((request) => request.appId),
    ...(sources.fleet ? { fleet: await fleetSnapshot(sources.fleet, now, options.fleetRuns ?? 20) } : {}),
  };
}

async function fleetSnapshot(
  fleet: NonNullable<SnapshotSources['fleet']>,
  now: number,
  runs: number,
): Promise<FleetSnapshot> {
  const [nodes, pool, recent] = await Promise.all([
    fleet.listNodes(),
    fleet.pagePool(FLEET_POOL_LIMIT),
    fleet.listFleetRuns({ limit: runs }),
  ]);
  return {
    nodeId: fleet.nodeId,
    nodes: nodes.map((node) => nodeView(node, now, fleet.nodeId)).sort((a, b) => a.nodeId.localeCompare(b.nodeId)),
    pool: pool.requests.map(fleetRequestView),
    poolSize: pool.size,
    runs: recent.map(fleetRunView),
  };
}

function runningView(active: ActiveRun, now: number): RunningTaskView {
  const { run } = active;
  const since = run.startedAt ?? run.launchedAt;
  const elapsedMs = since === null ? 0 : Math.max(0, now - since);
  const progress =
    active.progress && active.progress.total > 0
      ? {
          completed: active.progress.completed,
          total: active.progress.total,
          fraction: Math.min(1, active.progress.completed / active.progress.total),
        }
      : null;
  const estimatedRemainingMs =
    progress && progress.fraction > 0 && progress.fraction < 1
      ? Math.round((elapsedMs / progress.fraction) * (1 - progress.fraction))
      : null;
  return {
    taskId: run.taskId,
    appId: run.appId,
    identifier: run.identifier,
    kind: run.kind,
    state: run.state,
    title: active.title ?? null,
    subtitle: active.subtitle ?? null,
    progress,
    startedAt: run.startedAt,
    deadlineAt: run.deadlineAt,
    elapsedMs,
    estimatedRemainingMs,
    launch: run.launch,
    background: run.background,
  };
}
