import { scheduleLabel } from '../engine/scheduleLabel.js';
import { z } from 'zod';
import type { DeviceConditions } from '../conditions/deviceConditions.js';
import { parseConditionAssignments } from '../conditions/overrides.js';
import type { AppRecord, HistoryEventInput } from '../engine/types.js';
import { appIdSchema, identifierSchema } from '../protocol/identifiers.js';
import { describeIssue } from '../protocol/messages.js';
import type { Store } from '../store/store.js';
import { ensureCredential, hashCredential, removeCredential } from './credentials.js';
import { loadManifest } from './manifest.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { StoreWriter } from './storeWriter.js';
import type { Clock } from '../engine/clock.js';
import { DaemonError } from './errors.js';
import { buildSnapshot } from './snapshot.js';
import type { NotificationCenter } from './notifications/notificationCenter.js';
import type { PushTokens } from './pushTokens.js';
import { pushBodySchema, type PushBody } from '../protocol/push.js';
import { intakeCheckedPush } from './pushIntake.js';
import { PUSH_STATES } from '../engine/push.js';
import type { FleetStore } from '../store/fleet.js';
import { fleetCommands } from './fleetCommands.js';
import { cancelCommand } from './commands/cancel.js';
import { stopCommand } from './commands/stop.js';
import type { HistoryStatus } from './history/historyPruner.js';

export interface ControlDeps {
  readonly home: string;
  readonly clock: Clock;
  readonly store: Store;
  /** Writes go through the daemon's writer, so watchers see them and they keep their order. */
  readonly writer: StoreWriter;
  readonly scheduler: Scheduler;
  readonly conditions: DeviceConditions;
  readonly daemonVersion: string;
  readonly startedAt: number;
  /** The policy profile in force, and why it was chosen. */
  readonly profile: { readonly name: string; readonly reason: string };
  /** Subscribes to history events and run changes, for `watch`; returns an unsubscribe function. */
  readonly subscribe: (listener: (event: unknown) => void) => () => void;
  /** Where the dashboard is served (without its token), for `status`; null when it is not. */
  readonly dashboard?: () => { readonly url: string; readonly port: number } | null;
  readonly notifications: NotificationCenter;
  readonly pushTokens: PushTokens;
  /** The store as a fleet sees it (`fleet.*` commands, the dashboard's Fleet panel); null (the default) on SQLite. */
  readonly fleet?: FleetStore | null;
  /** Asks the daemon's owner to stop it cleanly (`bgtasks stop`); absent where it is embedded. */
  readonly requestStop?: () => void;
  /** How much history the store holds and keeps, for `status` (see HistoryPruner). */
  readonly history?: { status(): HistoryStatus };
}

/** One control command: the schema of its arguments, and what it does with them once they pass. */
export interface ControlCommandEntry {
  readonly schema: z.ZodType;
  readonly run: (args: never) => Promise<unknown> | unknown;
}

export const OVERRIDES_SETTING = 'conditions.overrides';
const appArgs = z.strictObject({ appId: appIdSchema });
const notificationIdSchema = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'must be a notification id');
const appIdentifierArgs = z.strictObject({ appId: appIdSchema, identifier: identifierSchema });
/** `bgtasks apps enable APP` or `bgtasks apps enable --all` (the global switch). */
const switchArgs = z
  .strictObject({ appId: appIdSchema.optional(), all: z.boolean().default(false) })
  .refine((args) => (args.appId === undefined) === args.all, { message: 'name an app, or pass all (not both)', path: ['appId'] });

/**
 * The commands behind `bgtasks`: each has a schema for its arguments (checked here, at the boundary)
 * and returns plain data; the CLI formats it as a table or as JSON.
 */
export class ControlCommands {
  readonly #deps: ControlDeps;
  readonly #commands: Record<string, ControlCommandEntry>;

  constructor(deps: ControlDeps) {
    this.#deps = deps;
    const { scheduler, store, conditions } = deps;
    this.#commands = {
      status: { schema: z.strictObject({}), run: () => this.#status() },
      install: {
        schema: z.strictObject({ dir: z.string().min(1).max(4096), rotateCredential: z.boolean().default(false) }),
        run: (args: { dir: string; rotateCredential: boolean }) => this.#install(args.dir, args.rotateCredential),
      },
      uninstall: {
        schema: appArgs,
        run: async ({ appId }: { appId: string }) => {
          await scheduler.uninstallApp(appId);
          removeCredential(deps.home, appId);
          await deps.pushTokens.forget(appId);
          await deps.notifications.forget(appId);
          return { appId, uninstalled: true };
        },
      },
      // The app's push token (issued at install); `rotate` replaces it.
      'apps.token': {
        schema: z.strictObject({ appId: appIdSchema, rotate: z.boolean().default(false) }),
        run: async ({ appId, rotate }: { appId: string; rotate: boolean }) => {
          if (!scheduler.apps.get(appId)) throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
          return { appId, ...(await deps.pushTokens.issue(appId, rotate)) };
        },
      },
      // A background push from the command line (`bgtasks push`); senders use POST /v1/apps/{appId}/push.
      push: {
        schema: pushBodySchema.extend({ appId: appIdSchema }),
        run: ({ appId, ...body }: PushBody & { appId: string }) => this.receivePush(appId, body),
      },
      pushes: {
        schema: z.strictObject({ appId: appIdSchema.optional(), state: z.enum(PUSH_STATES).optional(), limit: z.number().int().min(1).max(10_000).default(50) }),
        run: async (args: { appId?: string; state?: (typeof PUSH_STATES)[number]; limit: number }) => ({
          pushes: await store.listPushes({ ...(args.appId ? { appId: args.appId } : {}), ...(args.state ? { states: [args.state] } : {}), limit: args.limit }),
          counts: args.appId ? await scheduler.pushCounts(args.appId) : null,
        }),
      },
      notifications: {
        schema: z.strictObject({ appId: appIdSchema.optional(), limit: z.number().int().min(1).max(10_000).default(50) }),
        run: async (args: { appId?: string; limit: number }) => ({
          notifications: await deps.notifications.list(args),
          requests: deps.notifications.requests(),
          desktop: deps.notifications.desktopKind,
        }),
      },
      'notifications.allow': { schema: appArgs, run: ({ appId }: { appId: string }) => deps.notifications.setAuthorization(appId, true) },
      'notifications.deny': { schema: appArgs, run: ({ appId }: { appId: string }) => deps.notifications.setAuthorization(appId, false) },
      // The person chose an action on a notification (the dashboard's buttons, `bgtasks notifications act`).
      'notifications.act': {
        schema: z.strictObject({ notificationId: notificationIdSchema, actionId: identifierSchema }),
        run: ({ notificationId, actionId }: { notificationId: string; actionId: string }) => deps.notifications.act(notificationId, actionId),
      },
      'notifications.dismiss': {
        schema: z.strictObject({ notificationId: notificationIdSchema }),
        run: async ({ notificationId }: { notificationId: string }) => {
          await deps.notifications.dismiss(notificationId);
          return { notificationId, dismissed: true };
        },
      },
      apps: { schema: z.strictObject({}), run: () => this.#apps() },
      enable: { schema: switchArgs, run: (args: { appId?: string; all: boolean }) => this.#switch(args, true) },
      disable: { schema: switchArgs, run: (args: { appId?: string; all: boolean }) => this.#switch(args, false) },
      open: { schema: appArgs, run: ({ appId }: { appId: string }) => ({ appId, result: scheduler.openApp(appId) }) },
      quit: { schema: appArgs, run: ({ appId }: { appId: string }) => ({ appId, stopped: scheduler.quitApp(appId) }) },
      pending: {
        schema: z.strictObject({ appId: appIdSchema.optional() }),
        run: ({ appId }: { appId?: string }) =>
          scheduler.pending(appId).map(({ request, eligible, blockers }) => ({
            ...request,
            eligible,
            reasons: blockers.map((blocker) => blocker.reason),
            message: blockers[0]?.message ?? null,
            schedule: scheduleLabel(request),
          })),
      },
      history: {
        schema: z.strictObject({
          appId: appIdSchema.optional(),
          identifier: identifierSchema.optional(),
          limit: z.number().int().min(1).max(10_000).default(50),
          events: z.boolean().default(false),
        }),
        run: (args: { appId?: string; identifier?: string; limit: number; events: boolean }) =>
          args.events
            ? store.listEvents({ appId: args.appId, identifier: args.identifier, limit: args.limit })
            : store.listRuns({ appId: args.appId, identifier: args.identifier, limit: args.limit }),
      },
      // storeFault: while the store cannot be written no task starts, whatever the policies say.
      why: { schema: appIdentifierArgs, run: async ({ appId, identifier }: { appId: string; identifier: string }) => ({ ...(await scheduler.why(appId, identifier)), storeFault: deps.writer.fault }) },
      'why.app': { schema: appArgs, run: async ({ appId }: { appId: string }) => ({ ...scheduler.whyApp(appId), pushes: scheduler.pushesWaiting(appId), ranOnce: await scheduler.ranOnce(appId) }) },
      run: {
        schema: z.strictObject({ appId: appIdSchema, identifier: identifierSchema, kind: z.enum(['refresh', 'processing']).optional() }),
        run: async (args: { appId: string; identifier: string; kind?: 'refresh' | 'processing' }) => ({ taskId: await scheduler.runNow(args.appId, args.identifier, args.kind) }),
      },
      expire: { schema: appIdentifierArgs, run: ({ appId, identifier }: { appId: string; identifier: string }) => ({ expired: scheduler.expireNow(appId, identifier) }) },
      // The whole picture for `bgtasks top` (and the dashboard): added minimally by the `top` work; the dashboard's version may replace it.
      snapshot: {
        schema: z.strictObject({}),
        run: () => buildSnapshot({ scheduler, store, conditions: () => conditions.current(), now: () => deps.clock.now(), daemonVersion: deps.daemonVersion, profile: deps.profile.name, notifications: deps.notifications, fleet: deps.fleet ?? null }),
      },
      // The person's Cancel in the dashboard: the running task expires with reason `userCancelled`.
      cancelTask: {
        schema: z.strictObject({ taskId: z.string().min(1).max(100) }),
        run: async ({ taskId }: { taskId: string }) => ({ taskId, result: await scheduler.cancelTask(taskId) }),
      },
      // The person takes a continued request out of the line (it has no task yet).
      cancelQueued: {
        schema: appIdentifierArgs,
        run: async ({ appId, identifier }: { appId: string; identifier: string }) => ({ appId, identifier, result: await scheduler.cancelQueued(appId, identifier) }),
      },
      conditions: { schema: z.strictObject({}), run: () => ({ ...conditions.current(), overrides: conditions.overrides() }) },
      'conditions.set': {
        schema: z.strictObject({ assignments: z.array(z.string().max(100)).min(1, 'name at least one condition, e.g. power=battery').max(20) }),
        run: async ({ assignments }: { assignments: string[] }) => {
          const overrides = parseConditionAssignments(assignments);
          const next = { ...conditions.overrides(), ...overrides };
          await deps.writer.write({ settings: { [OVERRIDES_SETTING]: next }, events: [this.#conditionsEvent(next)] });
          conditions.setOverrides(overrides);
          return { ...conditions.current(), overrides: conditions.overrides() };
        },
      },
      'conditions.reset': {
        schema: z.strictObject({}),
        run: async () => {
          await deps.writer.write({ settings: { [OVERRIDES_SETTING]: null }, events: [this.#conditionsEvent({})] });
          conditions.resetOverrides();
          return { ...conditions.current(), overrides: conditions.overrides() };
        },
      },
      ...fleetCommands({ fleet: deps.fleet ?? null, scheduler, clock: deps.clock }),
      ...cancelCommand(scheduler),
      ...stopCommand(deps.requestStop),
    };
  }

  /** The persisted overrides (`bgtasks conditions set` survives a restart). */
  static async loadOverrides(store: Store): Promise<Record<string, unknown>> {
    return (await store.getSetting<Record<string, unknown>>(OVERRIDES_SETTING)) ?? {};
  }

  get names(): string[] {
    return Object.keys(this.#commands);
  }

  async run(command: string, rawArgs: unknown): Promise<unknown> {
    // Own keys only: `constructor` or `toString` must be an unknown command, not Object.prototype's.
    const entry = Object.hasOwn(this.#commands, command) ? this.#commands[command] : undefined;
    if (!entry) throw new DaemonError('unknownCommand', `unknown command "${command}"; known: ${this.names.join(', ')}`, 'command');
    const parsed = entry.schema.safeParse(rawArgs);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      throw new DaemonError('invalidArgument', message, field);
    }
    return await entry.run(parsed.data as never);
  }

  /**
   * Takes a push (checked against {@link pushBodySchema} by the caller): resolves once it is stored.
   * @throws DaemonError `payloadTooLarge` (field `data`) past 4 KB, `unknownApp`, `notPermitted`.
   */
  async receivePush(appId: string, body: PushBody): Promise<unknown> {
    return intakeCheckedPush(this.#deps.scheduler, appId, body, this.#deps.clock.now());
  }

  watch(listener: (event: unknown) => void): () => void {
    return this.#deps.subscribe(listener);
  }

  async #install(dir: string, rotate: boolean): Promise<unknown> {
    const loaded = loadManifest(dir);
    const { appId } = loaded.manifest;
    const existing = this.#deps.scheduler.apps.get(appId)?.record;
    if (existing && existing.dir !== loaded.dir) {
      throw new DaemonError('appIdTaken', `${appId} is already installed from ${existing.dir}; uninstall it first`, 'appId');
    }
    const credential = ensureCredential(this.#deps.home, appId, rotate);
    const now = this.#deps.clock.now();
    const record: AppRecord = {
      appId,
      dir: loaded.dir,
      launch: loaded.launch,
      permittedIdentifiers: [...loaded.manifest.permittedIdentifiers],
      backgroundModes: loaded.backgroundModes,
      enabled: existing?.enabled ?? true,
      credentialHash: hashCredential(credential),
      installedAt: existing?.installedAt ?? now,
    };
    const event: HistoryEventInput = { at: now, appId, identifier: null, taskId: null, type: 'installed', reason: existing ? 'reinstalled' : null, detail: { dir: loaded.dir } };
    await this.#deps.scheduler.installApp(record, event);
    await this.#deps.pushTokens.issue(appId);
    return { ...publicApp(record), reinstalled: Boolean(existing), pushToken: `bgtasks apps token ${appId}` };
  }

  async #switch(args: { appId?: string; all: boolean }, enabled: boolean): Promise<unknown> {
    const { scheduler } = this.#deps;
    if (args.appId === undefined) {
      await scheduler.setBackgroundAppRefresh(enabled);
      return { backgroundAppRefresh: enabled };
    }
    return publicApp(await scheduler.setEnabled(args.appId, enabled));
  }

  async #apps(): Promise<unknown[]> {
    const { scheduler } = this.#deps;
    const ranOnce = new Map(await Promise.all([...scheduler.apps.all()].map(async (app) => [app.record.appId, await scheduler.ranOnce(app.record.appId)] as const)));
    return [...scheduler.apps.all()]
      .map((app) => ({
        ...publicApp(app.record),
        usage: this.#deps.scheduler.usageOf(app.record.appId),
        running: app.instances.size > 0,
        processes: [...app.instances].map((instance) => ({ pid: instance.pid, launchReason: instance.launchReason })),
        pending: this.#deps.scheduler.queue.forApp(app.record.appId).length,
        activeTasks: this.#deps.scheduler.runs.countForApp(app.record.appId),
        ranOnce: ranOnce.get(app.record.appId) ?? [],
      }))
      .sort((a, b) => a.appId.localeCompare(b.appId));
  }

  #status(): unknown {
    const { scheduler, store, conditions } = this.#deps;
    return {
      version: this.#deps.daemonVersion,
      pid: process.pid,
      home: this.#deps.home,
      // fault: the storage fault that stops writes now (disk full, read-only), or null.
      store: { kind: store.kind, location: store.location, fault: this.#deps.writer.fault },
      // Runs and events kept, the store's size, the retention, and the last pruning (docs/reliability.md).
      history: this.#deps.history?.status() ?? null,
      // In a fleet: which node this daemon is (see `bgtasks nodes` for the others).
      node: this.#deps.fleet ? this.#deps.fleet.nodeId : null,
      startedAt: this.#deps.startedAt,
      profile: this.#deps.profile,
      // Timer wake-ups since start, where the clock counts them: an idle daemon wakes only for its sensors.
      wakeups: 'wakeups' in this.#deps.clock && typeof this.#deps.clock.wakeups === 'number' ? this.#deps.clock.wakeups : null,
      cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
      backgroundAppRefresh: scheduler.backgroundAppRefresh,
      apps: [...scheduler.apps.all()].length,
      pending: scheduler.queue.size,
      running: scheduler.runs.size,
      conditions: conditions.current(),
      dashboard: this.#deps.dashboard?.() ?? null,
    };
  }

  #conditionsEvent(overrides: Record<string, unknown>): HistoryEventInput {
    return { at: this.#deps.clock.now(), appId: null, identifier: null, taskId: null, type: 'conditionsChanged', reason: 'override', detail: { overrides } };
  }
}

/** An app record as clients see it: without the credential hash. */
function publicApp(record: AppRecord): Omit<AppRecord, 'credentialHash'> {
  const { credentialHash: _hidden, ...rest } = record;
  return rest;
}
