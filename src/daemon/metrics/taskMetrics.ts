import type { HistoryEventInput, LaunchMode, TaskKind, TaskRun, TaskRunUpdate } from '../../engine/types.js';
import type { StoreBatch } from '../../store/store.js';
import type { Counter, Histogram, MetricsRegistry } from './registry.js';

/** From a launch to the app's connection (when it takes its tasks): a Node app connects in tens to hundreds of ms. */
export const LAUNCH_LATENCY_BUCKETS: readonly number[] = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** From when a task could begin to when its handler started: on time is under a second, a task held for power hours. */
export const LATENESS_BUCKETS: readonly number[] = [
  0.1,
  0.5,
  1,
  5,
  15,
  60,
  300,
  900,
  3_600,
  4 * 3_600,
  12 * 3_600,
  86_400,
];

/** The push events (`type: 'push'`, by `reason`) that are counted; `redelivery` is named `redelivered`. */
const PUSH_EVENTS: Readonly<Record<string, string>> = {
  received: 'received',
  delivered: 'delivered',
  collapsed: 'collapsed',
  expired: 'expired',
  failed: 'failed',
  redelivery: 'redelivered',
};

/** Launches not yet connected, per app, past which the oldest is forgotten (an app launches once at a time). */
const MAX_PENDING_LAUNCHES_PER_APP = 16;

/** What is kept of a run the daemon dispatched until it finishes: run updates carry only the task id. */
interface TrackedRun {
  readonly appId: string;
  readonly kind: TaskKind;
  readonly forced: boolean;
  readonly earliestBeginAt: number | null;
  readonly submittedAt: number;
  launch: LaunchMode | null;
  started: boolean;
  expired: boolean;
}

interface PendingLaunch {
  readonly at: number;
  readonly pid: number | null;
  readonly reason: string;
}

/**
 * The counters and histograms of tasks, launches and pushes, fed with what the store committed
 * (`StoreWriter.onDidCommit`), so they count what is durable, never a step that a failed write undid.
 * Like every Prometheus counter they start at 0 with the daemon.
 */
export class TaskMetrics {
  readonly #runs = new Map<string, TrackedRun>();
  readonly #launches = new Map<string, PendingLaunch[]>();
  readonly #started: Counter<'app' | 'kind' | 'launch'>;
  readonly #finished: Counter<'app' | 'kind' | 'outcome'>;
  readonly #expirations: Counter<'app' | 'reason'>;
  readonly #lateness: Histogram<'kind'>;
  readonly #appLaunches: Counter<'app' | 'reason'>;
  readonly #launchFailures: Counter<'app' | 'reason'>;
  readonly #launchLatency: Histogram<'reason'>;
  readonly #pushes: Counter<'app' | 'event'>;

  constructor(registry: MetricsRegistry) {
    this.#started = registry.counter({
      name: 'bgtasks_tasks_started_total',
      help:
        'Tasks whose handler started, by app, kind and launch (launched: the app was ' +
        'launched for it; alreadyRunning).',
      labelNames: ['app', 'kind', 'launch'],
    });
    this.#finished = registry.counter({
      name: 'bgtasks_tasks_finished_total',
      help:
        'Runs that ended, by app, kind and outcome (success, failure, expired, ' +
        'terminatedAfterExpiration, noHandler, appExited, launchFailed).',
      labelNames: ['app', 'kind', 'outcome'],
    });
    this.#expirations = registry.counter({
      name: 'bgtasks_task_expirations_total',
      help:
        'Running tasks the system expired, by app and reason (timeLimit, manual, ' +
        'userCancelled, or the policy that no longer allowed it).',
      labelNames: ['app', 'reason'],
    });
    this.#lateness = registry.histogram({
      name: 'bgtasks_task_lateness_seconds',
      help:
        'From when a task could begin (its earliestBeginDate, or its submission) to ' +
        "its handler's start; forced runs are not counted, early periodic starts " +
        'count as 0.',
      labelNames: ['kind'],
      buckets: LATENESS_BUCKETS,
    });
    this.#appLaunches = registry.counter({
      name: 'bgtasks_app_launches_total',
      help:
        'App processes the daemon started, by app and reason (background, or user for ' +
        'bgtasks open and notification actions).',
      labelNames: ['app', 'reason'],
    });
    this.#launchFailures = registry.counter({
      name: 'bgtasks_app_launch_failures_total',
      help:
        'Launches that failed, by app and reason (launchTimeout, ' + 'exitedBeforeConnecting, launchCommandFailed).',
      labelNames: ['app', 'reason'],
    });
    this.#launchLatency = registry.histogram({
      name: 'bgtasks_launch_latency_seconds',
      help:
        'From the daemon launching an app to the app connecting (when its waiting ' +
        'tasks are handed to it), by launch reason.',
      labelNames: ['reason'],
      buckets: LAUNCH_LATENCY_BUCKETS,
    });
    this.#pushes = registry.counter({
      name: 'bgtasks_pushes_total',
      help:
        'Background pushes by app and event: received, delivered, collapsed, expired, ' +
        'failed (given up), redelivered (tried again).',
      labelNames: ['app', 'event'],
    });
  }

  /** Feed it every committed batch, in commit order. */
  committed(batch: StoreBatch): void {
    for (const run of batch.insertRuns ?? []) this.#inserted(run);
    for (const update of batch.updateRuns ?? []) {
      const tracked = this.#runs.get(update.taskId);
      // Unknown: a run of an earlier daemon (finished by recovery), or of another node of a fleet.
      if (tracked) this.#changed(update.taskId, tracked, update);
    }
    for (const event of batch.events ?? []) this.#event(event);
    // An uninstalled app's undelivered pushes fail without an event, in the batch that deletes the app.
    const [uninstalled, ...others] = batch.deleteApps ?? [];
    if (uninstalled !== undefined && others.length === 0) {
      for (const update of batch.updatePushes ?? []) {
        if (update.state === 'failed' && update.reason === 'uninstalled')
          this.#pushes.inc({ app: uninstalled, event: 'failed' });
      }
    }
  }

  #inserted(run: TaskRun): void {
    const tracked: TrackedRun = {
      appId: run.appId,
      kind: run.kind,
      forced: run.forced,
      earliestBeginAt: run.earliestBeginAt,
      submittedAt: run.submittedAt,
      launch: null,
      started: false,
      expired: false,
    };
    this.#runs.set(run.taskId, tracked);
    // Group commit may fold a whole run into its insert: the same steps as updates.
    this.#changed(run.taskId, tracked, run);
  }

  #changed(taskId: string, tracked: TrackedRun, change: TaskRunUpdate): void {
    if (change.launch) tracked.launch = change.launch;
    if (typeof change.startedAt === 'number' && !tracked.started) {
      tracked.started = true;
      this.#started.inc({ app: tracked.appId, kind: tracked.kind, launch: tracked.launch ?? 'unknown' });
      if (!tracked.forced) {
        const couldBegin = Math.max(tracked.earliestBeginAt ?? tracked.submittedAt, tracked.submittedAt);
        this.#lateness.observe({ kind: tracked.kind }, Math.max(0, change.startedAt - couldBegin) / 1000);
      }
    }
    if (typeof change.expiredAt === 'number' && !tracked.expired) {
      tracked.expired = true;
      this.#expirations.inc({ app: tracked.appId, reason: change.expirationReason ?? 'unknown' });
    }
    if (change.state === 'finished') {
      this.#runs.delete(taskId);
      this.#finished.inc({ app: tracked.appId, kind: tracked.kind, outcome: change.outcome ?? 'unknown' });
    }
  }

  #event(event: HistoryEventInput): void {
    const app = event.appId;
    if (app === null) return;
    if (event.type === 'launched') {
      const reason = event.reason ?? 'unknown';
      this.#appLaunches.inc({ app, reason });
      const pid = event.detail?.pid;
      const pending = this.#launches.get(app) ?? [];
      pending.push({ at: event.at, pid: typeof pid === 'number' ? pid : null, reason });
      if (pending.length > MAX_PENDING_LAUNCHES_PER_APP) pending.shift();
      this.#launches.set(app, pending);
    } else if (event.type === 'appConnected') {
      this.#connected(app, event);
    } else if (event.type === 'launchFailed') {
      // A failed launch never connects. Only one launch of an app is under way at a time: the oldest.
      this.#launches.get(app)?.shift();
      this.#launchFailures.inc({ app, reason: event.reason ?? 'unknown' });
    } else if (event.type === 'push') {
      const name = event.reason === null ? undefined : PUSH_EVENTS[event.reason];
      if (name) this.#pushes.inc({ app, event: name });
    }
  }

  /**
   * Matches a connection to its launch: by pid (the launcher execs the app, so the pid is the app's),
   * else, for a connection the daemon knows came from a background launch, the app's oldest. A person
   * starting the app is a `user` connection with no launch of that pid: not a launch to time.
   */
  #connected(app: string, event: HistoryEventInput): void {
    const pending = this.#launches.get(app);
    if (!pending || pending.length === 0) return;
    const pid = event.detail?.pid;
    let index = pending.findIndex((launch) => launch.pid !== null && launch.pid === pid);
    if (index < 0 && event.reason === 'background')
      index = pending.findIndex((launch) => launch.reason === 'background');
    if (index < 0) return;
    const [launch] = pending.splice(index, 1);
    if (pending.length === 0) this.#launches.delete(app);
    this.#launchLatency.observe({ reason: launch!.reason }, Math.max(0, event.at - launch!.at) / 1000);
  }
}
