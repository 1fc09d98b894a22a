// Over 400 lines: the daemon's composition root, wiring every part in one place.
import { chmodSync, mkdirSync, readFileSync } from 'node:fs';
import { DeviceConditions } from '../conditions/deviceConditions.js';
import { conditionOverridesSchema } from '../conditions/overrides.js';
import { createSystemSensors, type Sensors } from '../conditions/sensors.js';
import type { Clock } from '../engine/clock.js';
import type { ConditionsSnapshot } from '../engine/conditions.js';
import {
  compileSchedulingOptions,
  SCHEDULING_PROFILES,
  type SchedulingOptions,
  type SchedulingProfile,
} from '../engine/options.js';
import { chooseProfile, type ProfileChoice } from '../engine/profile.js';
import { openStore } from '../store/index.js';
import { fleetOf } from '../store/fleet.js';
import { FleetMember } from './fleet/fleetMember.js';
import { schedulerFleetPort } from './fleet/schedulerPort.js';
import { nodeConditions, resolveNodeId } from './fleet/nodeIdentity.js';
import { homedir, hostname } from 'node:os';
import type { Store, StoreBatch } from '../store/store.js';
import { DisposableStore } from '../shared/disposable.js';
import { homePaths } from '../shared/paths.js';
import { ControlCommands } from './control.js';
import { createCpuMeter } from './cpuMeter.js';
import { SustainedPressureMeter, sustainedPressure } from '../conditions/sustainedPressure.js';
import { detectResources } from './resources.js';
import { startDashboard, type DashboardServer } from './http/server.js';
import { MisbehaviourRecorder } from './misbehaviour.js';
import { IpcServer } from './ipcServer.js';
import { ChildProcessLauncher } from './launcher.js';
import { createLogger, type Logger } from './logger.js';
import { compileDaemonOptions, type CompiledDaemonOptions, type DaemonOptions } from './options.js';
import { Scheduler } from './scheduler/scheduler.js';
import type { AppLauncher, CpuMeter } from './scheduler/ports.js';
import { StoreWriter } from './storeWriter.js';
import { SystemClock } from '../shared/systemClock.js';
import { createDesktopNotifier, type DesktopNotifier } from './notifications/desktopNotifier.js';
import type { NotificationCenter } from './notifications/notificationCenter.js';
import { wireNotifications } from './notifications/wireNotifications.js';
import { PushTokens } from './pushTokens.js';
import { DaemonMetrics } from './metrics/daemonMetrics.js';
import { TaskLog } from './taskLog.js';
import { fitToDescriptors, openFileLimit, RESERVED_DESCRIPTORS } from './guards/descriptorBudget.js';
import { HistoryPruner } from './history/historyPruner.js';
import { wireFileTriggers } from '../triggers/wireTriggers.js';
import { isPostgresLocation } from '../store/location.js';

export interface DaemonDeps {
  readonly clock?: Clock;
  readonly sensors?: Sensors;
  readonly launcher?: AppLauncher;
  readonly cpuMeter?: CpuMeter | null;
  readonly logger?: Logger;
  /** Where notifications show on the desktop; null for nowhere. @default the OS's notification service */
  readonly desktop?: DesktopNotifier | null;
  /** Called on `bgtasks stop`: the owner closes the daemon as on SIGTERM. Without it, `stop` is refused. */
  readonly requestStop?: () => void;
}

/** The setting that keeps the profile picked at first start. */
const PROFILE_SETTING = 'profile';

/**
 * The system side, wired: store, sensors, scheduler, launcher and socket. `startDaemon` returns once the
 * socket accepts connections; `close()` (or `await using`) stops it in stages: stop the scheduler and
 * the apps it launched, stop accepting, commit what is queued, close the store. Runs still active at that
 * point are recovered as `interrupted` on the next start.
 */
export class Daemon implements AsyncDisposable {
  #closed: Promise<void> | null = null;

  private constructor(
    readonly options: CompiledDaemonOptions,
    readonly store: Store,
    readonly scheduler: Scheduler,
    readonly conditions: DeviceConditions,
    readonly control: ControlCommands,
    readonly server: IpcServer,
    readonly writer: StoreWriter,
    readonly log: Logger,
    resources: DisposableStore,
    /** The web dashboard, or null when `httpPort` is null or its port was taken. */
    readonly dashboard: DashboardServer | null = null,
    readonly notifications: NotificationCenter | null = null,
    /** This machine's part in a fleet; null on a SQLite store. */
    readonly fleet: FleetMember | null = null,
  ) {
    this.#resources = resources;
  }

  readonly #resources: DisposableStore;

  static async start(options: DaemonOptions = {}, deps: DaemonDeps = {}): Promise<Daemon> {
    const compiled = compileDaemonOptions(options);
    const log = deps.logger ?? createLogger();
    const clock = deps.clock ?? new SystemClock();
    const paths = homePaths(compiled.home);
    mkdirSync(paths.home, { recursive: true, mode: 0o700 });
    chmodSync(paths.home, 0o700);
    const shared = isPostgresLocation(compiled.store);
    const store = shared
      ? openStore(compiled.store, { nodeId: resolveNodeId(paths.home, compiled.nodeId) })
      : openStore(compiled.store, { synchronous: compiled.synchronous });
    let conditionsToDispose: DeviceConditions | null = null;
    let fleetToDispose: FleetMember | null = null;
    let notificationsToDispose: NotificationCenter | null = null;
    try {
      await store.migrate();
      const overrides = conditionOverridesSchema.safeParse(await ControlCommands.loadOverrides(store));
      const conditions = new DeviceConditions({
        clock,
        sensors: deps.sensors ?? createSystemSensors(),
        pollIntervalMs: compiled.sensorPollIntervalMs,
        overrides: overrides.success ? overrides.data : {},
        onSensorError: (error: unknown) =>
          log.warn(`sensors: ${error instanceof Error ? error.message : String(error)}`),
      });
      conditionsToDispose = conditions;
      await conditions.start();
      const daemonLog = schedulerLog(log);
      const writer = new StoreWriter(store, { clock, log: daemonLog });
      const metrics = compiled.metrics.enabled
        ? new DaemonMetrics({ home: compiled.home, writer, log: daemonLog })
        : null;
      const taskLog = new TaskLog(daemonLog);
      writer.onDidCommit((batch) => taskLog.committed(batch));
      const profile = await pickProfile(store, writer, conditions.current(), compiled.schedulingGiven, clock.now());
      const scheduling: SchedulingOptions = compileSchedulingOptions({
        ...compiled.schedulingGiven,
        profile: profile.profile,
      });
      log.info({ profile: profile.profile }, `policy profile: ${profile.profile} (${profile.reason})`);
      // Sustained pressure and the own tasks' CPU share (issue 17), sampled at each read of the sensors (below).
      let appPids: () => Iterable<number> = () => [];
      const pressureMeter = new SustainedPressureMeter(() => appPids());
      const scheduler = await Scheduler.start({
        clock,
        conditions,
        store,
        writer,
        launcher: deps.launcher ?? new ChildProcessLauncher(compiled.home),
        cpuMeter: deps.cpuMeter === undefined ? createCpuMeter() : deps.cpuMeter,
        supportedResources: detectResources(),
        log: daemonLog,
        options: scheduling,
        sustainedPressure: () => sustainedPressure(pressureMeter.read(), conditions.current()),
      });
      appPids = () =>
        [...scheduler.apps.all()].flatMap((app) => [...app.instances].map((instance) => instance.pid ?? 0));
      pressureMeter.sample(clock.monotonic());
      const fleetStore = fleetOf(store);
      const fleet =
        fleetStore &&
        (await FleetMember.join({
          clock,
          fleet: fleetStore,
          scheduler: schedulerFleetPort(scheduler),
          log: daemonLog,
          options: compiled.fleet,
          conditions: () => nodeConditions(conditions.current().conditions),
          maxConcurrentTasks: scheduling.maxConcurrentTasks,
          hostname: hostname(),
          version: VERSION,
          storeFaulted: () => writer.fault !== null,
          flushed: () => writer.drain(),
        }));
      fleetToDispose = fleet;
      const notifications = await wireNotifications({
        clock,
        store,
        writer,
        scheduler,
        log: daemonLog,
        desktop: deps.desktop === undefined ? createDesktopNotifier({ log: daemonLog }) : deps.desktop,
      });
      notificationsToDispose = notifications;
      const pushTokens = await PushTokens.load(compiled.home, store, writer);
      let dashboard: DashboardServer | null = null;
      const subscribers = new Set<(event: unknown) => void>();
      writer.onDidCommit((batch) => {
        if (subscribers.size === 0) return;
        for (const event of describeBatch(batch)) for (const subscriber of subscribers) subscriber(event);
      });
      // Old history goes in small batches on a timer, apart from the task writes (docs/reliability.md).
      const pruner = new HistoryPruner({ clock, store, log: daemonLog, options: compiled.history });
      const control = new ControlCommands({
        home: compiled.home,
        clock,
        store,
        writer,
        scheduler,
        conditions,
        daemonVersion: VERSION,
        startedAt: clock.now(),
        profile: { name: profile.profile, reason: profile.reason },
        dashboard: () => dashboard && { url: dashboard.url, port: dashboard.port },
        notifications,
        pushTokens,
        fleet: fleetStore,
        ...(deps.requestStop ? { requestStop: deps.requestStop } : {}),
        history: pruner,
        subscribe: (listener) => {
          subscribers.add(listener);
          return () => subscribers.delete(listener);
        },
      });
      const descriptors = fitToDescriptors(
        openFileLimit(),
        compiled.connectionLimits.maxConnections,
        compiled.httpLimits.maxConnections,
      );
      if (descriptors.clamped) {
        daemonLog.warn(
          `the open-file limit (${openFileLimit()}) is low: at most ${descriptors.ipc} ` +
            `socket and ${descriptors.http} HTTP connections, keeping ` +
            `${RESERVED_DESCRIPTORS} descriptors for the store, the sensors and the apps`,
          { code: 'lowFileLimit' },
        );
      }
      const server = await IpcServer.listen(
        {
          socketPath: paths.socket,
          maxFrameBytes: compiled.maxFrameBytes,
          helloTimeoutMs: compiled.helloTimeoutMs,
          daemonVersion: VERSION,
          limits: { ...compiled.connectionLimits, maxConnections: descriptors.ipc },
          misbehaviour: new MisbehaviourRecorder({
            clock,
            usage: scheduler.usage,
            writer,
            log: daemonLog,
            options: () => scheduling,
          }),
        },
        { scheduler, notifications },
        control,
        daemonLog,
      );
      // After the socket: its listen refuses a second daemon on this home, which must not take over the dashboard file.
      metrics?.observe({
        scheduler,
        storeFaulted: () => writer.fault !== null,
        version: VERSION,
        storeKind: store.kind,
        profile: profile.profile,
        nodeId: fleetStore?.nodeId ?? null,
        startedAt: clock.now(),
        fleetClaims: fleet?.claims ?? null,
        monotonic: () => clock.monotonic(),
      });
      dashboard = await startDashboard({
        home: compiled.home,
        host: compiled.httpHost,
        port: compiled.httpPort,
        control,
        conditions,
        pushTokens,
        metrics,
        log: daemonLog,
        limits: { ...compiled.httpLimits, maxConnections: descriptors.http },
      });
      const resources = new DisposableStore();
      if (metrics) resources.add(metrics);
      resources.add(pruner);
      await pruner.start();
      // Sampled at each read of the sensors (no timer of its own: an idle daemon wakes no more often).
      resources.add(
        conditions.onDidRead(() => {
          pressureMeter.sample(clock.monotonic());
          scheduler.recheckPressure();
        }),
      );
      resources.add(conditions.onDidChange((snapshot) => log.info({ ...snapshot.conditions }, 'conditions changed')));
      log.info(
        { socket: paths.socket, store: store.location, pid: process.pid },
        `bgtasks daemon ${VERSION} listening`,
      );
      resources.add(notifications);
      // Requests that run when a watched path changes.
      resources.add(wireFileTriggers({ clock, homeDir: homedir(), log: daemonLog, scheduler, writer }));
      return new Daemon(
        compiled,
        store,
        scheduler,
        conditions,
        control,
        server,
        writer,
        log,
        resources,
        dashboard,
        notifications,
        fleet,
      );
    } catch (error) {
      // A failed start leaves nothing running: the sensors' monitor processes stop too.
      conditionsToDispose?.dispose();
      notificationsToDispose?.dispose();
      await fleetToDispose?.[Symbol.asyncDispose]();
      await store.close().catch(() => undefined);
      throw error;
    }
  }

  get socketPath(): string {
    return this.server.socketPath;
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.dashboard?.close(); // first: no page request may reach a scheduler that is stopping
      // The scheduler first: the connections that close next must not finish runs as if apps had exited.
      this.scheduler.dispose();
      // Leaving gives up the lease: other nodes take over this node's pool work without waiting for it to lapse.
      await this.fleet?.[Symbol.asyncDispose]();
      await this.server.close();
      this.#resources.dispose();
      this.conditions.dispose();
      await this.writer.drain();
      this.writer.dispose();
      await this.store.close();
      this.log.info('bgtasks daemon stopped');
    })();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The profile: as given (`--option profile=server`), else as picked at first start and kept, else
 * picked now from what the sensors see, kept, and recorded in the history.
 */
async function pickProfile(
  store: Store,
  writer: StoreWriter,
  snapshot: ConditionsSnapshot,
  given: Partial<SchedulingOptions>,
  now: number,
): Promise<ProfileChoice> {
  if (given.profile) return { profile: given.profile, reason: "set by the daemon's options" };
  const stored = await store.getSetting<ProfileChoice>(PROFILE_SETTING);
  if (stored && SCHEDULING_PROFILES.includes(stored.profile as SchedulingProfile)) {
    return { profile: stored.profile, reason: `picked at first start: ${stored.reason}` };
  }
  const choice = chooseProfile(snapshot);
  await writer.write({
    settings: { [PROFILE_SETTING]: choice },
    events: [
      {
        at: now,
        appId: null,
        identifier: null,
        taskId: null,
        type: 'profile',
        reason: choice.profile,
        detail: { why: choice.reason },
      },
    ],
  });
  return choice;
}

/** The package version, read once. */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

function schedulerLog(log: Logger) {
  return {
    debug: (message: string, fields?: Record<string, unknown>) => log.debug(fields ?? {}, message),
    info: (message: string, fields?: Record<string, unknown>) => log.info(fields ?? {}, message),
    warn: (message: string, fields?: Record<string, unknown>) => log.warn(fields ?? {}, message),
    error: (message: string, fields?: Record<string, unknown>) => log.error(fields ?? {}, message),
  };
}

/**
 * What a watcher sees of a committed batch: history events and run changes. A task of a block is written
 * once, when it finishes: a watcher sees it dispatched, started and finished, as any other task.
 */
function describeBatch(batch: StoreBatch): unknown[] {
  const out: unknown[] = [];
  for (const run of batch.insertRuns ?? []) {
    out.push({ what: 'run', ...run });
    if (run.state !== 'finished') continue;
    const { taskId, launch, launchedAt, startedAt, deadlineAt, outcome, reason, error, completedAt, cpuMs } = run;
    if (startedAt !== null)
      out.push({ what: 'runUpdate', taskId, state: 'running', launch, launchedAt, startedAt, deadlineAt });
    out.push({ what: 'runUpdate', taskId, state: 'finished', outcome, reason, error, completedAt, cpuMs });
  }
  for (const update of batch.updateRuns ?? []) out.push({ what: 'runUpdate', ...update });
  for (const event of batch.events ?? []) out.push({ what: 'event', ...event });
  for (const request of batch.putRequests ?? []) out.push({ what: 'request', ...request });
  return out;
}
