// Over 400 lines: one app connection's protocol (hello, submit, tasks, completions), shared with the kit.
import { isFamilyPattern, isPermitted } from '../protocol/vocabulary/identifierMatching.js';
import {
  PROTOCOL_VERSION,
  appHelloSchema,
  appMessageSchema,
  describeIssue,
  describeVersion,
  type AppHello,
  type AppMessage,
  type BlockMessage,
  type CancelReplyData,
  type DaemonMessage,
  type NotificationActionDelivery,
  type NotificationInput,
  type PendingReplyData,
  type SubmitReplyData,
  type TaskDelivery,
  type WireError,
} from '../protocol/messages.js';
import { PUSH_IDENTIFIER } from '../engine/push.js';
import type { TaskRequest } from '../engine/types.js';
import { parseHotFrame } from '../protocol/hotFrames.js';
import { credentialMatches } from './credentials.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { AppInstance, LaunchReason, SchedulerLog } from './scheduler/ports.js';
import type { MisbehaviourReason } from './misbehaviour.js';
import { StrayFrameGuard } from './guards/strayFrameGuard.js';
import { LogAggregator } from './guards/logAggregator.js';

const STRAY_COMPLETION = 'completion for a task this app does not hold; ignored';
const STRAY_COMPLETIONS = 'completions for tasks this app does not hold were ignored';

/** What a session serves an app from. */
export interface SessionServices {
  readonly scheduler: Scheduler;
  readonly notifications: SessionNotifications;
}

/** The notification center as an app sees it (see NotificationCenter). */
export interface SessionNotifications {
  post(appId: string, input: NotificationInput): Promise<{ notificationId: string; desktop: string }>;
  requestAuthorization(appId: string): Promise<string>;
  acknowledge(appId: string, notificationIds: readonly string[]): Promise<void>;
}

/** How a session reaches its app: the socket in the daemon, an in-process channel in the testing kit. */
export interface SessionTransport {
  send(message: DaemonMessage): void;
  /** Sends an error frame and closes the channel (this one only). */
  fail(error: WireError): void;
  /** Closes the channel after what was sent (a `terminate`). */
  end(): void;
  /** Stops reading the channel for a while (a socket; the testing kit's channel need not). */
  pause?(ms: number): void;
  /** The app broke the rules on this channel: recorded against it (see MisbehaviourRecorder). */
  misbehaved?(reason: MisbehaviourReason, detail: Record<string, unknown>): void;
}

/**
 * One app's conversation with the daemon, whatever carries it: the hello (which app, proven by its
 * credential, and which handlers it registered), then its frames (submit, cancel, pending, explain,
 * started, completed), each checked against the protocol. The socket server and the testing kit both
 * use it, so an app under test talks to exactly the daemon it talks to in production.
 */
export class AppSession {
  readonly #scheduler: Scheduler;
  readonly #notifications: SessionNotifications;
  readonly #transport: SessionTransport;
  readonly #log: SchedulerLog;
  readonly #daemonVersion: string;
  readonly #instanceId: number;
  #instance: SessionAppInstance | null = null;
  readonly #stray = new StrayFrameGuard(() => performance.now());
  /** Refused requests, one line per code per 10 s: a client repeating a mistake must not flood the log. */
  readonly #refusals = new LogAggregator(() => performance.now());
  readonly #admit: ((appId: string) => WireError | null) | undefined;

  /**
   * @param admit - asked once the app has proven who it is, before it is attached: an error refuses the
   *   connection (the socket's per-app connection limit).
   */
  constructor(
    services: SessionServices,
    transport: SessionTransport,
    log: SchedulerLog,
    daemonVersion: string,
    instanceId: number,
    admit?: (appId: string) => WireError | null,
  ) {
    this.#admit = admit;
    this.#scheduler = services.scheduler;
    this.#notifications = services.notifications;
    this.#transport = transport;
    this.#log = log;
    this.#daemonVersion = daemonVersion;
    this.#instanceId = instanceId;
  }

  get instance(): AppInstance | null {
    return this.#instance;
  }

  /** The first frame of an app: checks version, schema and credential; returns whether it was accepted. */
  hello(frame: unknown): boolean {
    if ((frame as { v?: unknown } | null)?.v !== PROTOCOL_VERSION) {
      const version = (frame as { v?: unknown } | null)?.v;
      this.#transport.fail({
        code: 'unsupportedProtocolVersion',
        message: `this daemon speaks protocol version ${PROTOCOL_VERSION}, not ` + `${describeVersion(version)}`,
        field: 'v',
      });
      return false;
    }
    const parsed = appHelloSchema.safeParse(frame);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      this.#transport.fail({ code: 'protocolError', message: `invalid frame: ${message}`, field });
      return false;
    }
    return this.#accept(parsed.data);
  }

  #accept(hello: AppHello): boolean {
    const app = this.#scheduler.apps.get(hello.appId);
    if (!app) {
      this.#transport.fail({
        code: 'unknownApp',
        message: `${hello.appId} is not installed: run \`bgtasks install <its directory>\``,
        field: 'appId',
      });
      return false;
    }
    if (!credentialMatches(hello.credential, app.record.credentialHash)) {
      this.#log.warn('an app connection presented a wrong credential', { appId: hello.appId, pid: hello.pid });
      this.#transport.fail({
        code: 'badCredential',
        message: `the credential for ${hello.appId} does not match: reinstall the app or ` + `check BGTASKS_HOME`,
        field: 'credential',
      });
      return false;
    }
    const refusal = this.#admit?.(hello.appId);
    if (refusal) {
      this.#transport.fail(refusal);
      return false;
    }
    const accepted: string[] = [];
    const rejected: { identifier: string; reason: string; message: string }[] = [];
    for (const identifier of new Set(hello.registered)) {
      if (identifier === PUSH_IDENTIFIER) {
        // The push handler is permitted by the background mode, not by an identifier.
        if (app.record.backgroundModes.includes('remote-notification')) accepted.push(identifier);
        else
          rejected.push({
            identifier,
            reason: 'notPermitted',
            message:
              `onRemoteNotification needs the "remote-notification" background mode in ` + `${hello.appId}'s manifest`,
          });
        continue;
      }
      const permitted = isFamilyPattern(identifier)
        ? app.record.permittedIdentifiers.includes(identifier)
        : isPermitted(app.record.permittedIdentifiers, identifier);
      if (permitted) accepted.push(identifier);
      else
        rejected.push({
          identifier,
          reason: 'notPermitted',
          message: `${identifier} is not in the permittedIdentifiers of ${hello.appId}'s ` + `manifest`,
        });
    }
    const process = hello.launchId ? app.processes.get(hello.launchId) : undefined;
    const launchReason: LaunchReason = process?.reason ?? 'user';
    this.#instance = new SessionAppInstance(
      this.#transport,
      this.#instanceId,
      hello,
      process ? hello.launchId : null,
      launchReason,
      new Set(accepted),
      hello.notificationActions,
    );
    if (hello.blocks) this.#instance.takesBlocks();
    const supportedResources = [...this.#scheduler.supportedResources];
    const cancelledWhileAway = this.#scheduler.takeCancelledWhileAway(hello.appId);
    this.#transport.send({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      daemonVersion: this.#daemonVersion,
      launchReason,
      accepted,
      rejected,
      supportedResources,
      cancelledWhileAway,
      parentTaskId: true,
    });
    for (const rejection of rejected)
      this.#log.warn(`registration rejected: ${rejection.message}`, { appId: hello.appId });
    this.#scheduler.attach(this.#instance);
    return true;
  }

  /** A frame after the hello. A frame that breaks the protocol closes this session only. */
  frame(frame: unknown): void {
    const instance = this.#instance;
    if (!instance) return;
    // The frames about every task are checked by hand (src/protocol/hotFrames.ts); the rest, and any frame
    // the fast check does not take, by the schema, which names the field at fault.
    let message = parseHotFrame(frame);
    if (!message) {
      const parsed = appMessageSchema.safeParse(frame);
      if (!parsed.success) {
        const { field, message: text } = describeIssue(parsed.error);
        this.#transport.fail({ code: 'protocolError', message: `invalid frame: ${text}`, field });
        return;
      }
      message = parsed.data;
    }
    void this.#handle(instance, message).catch((error: unknown) => {
      // A typed refusal (a notification before it is allowed, an unknown task) is the app's to handle: a
      // warning. Only an untyped error is the daemon's own, at error level.
      const wire = toWireError(error);
      const level = wire.code === 'internalError' ? 'error' : 'warn';
      const { log, suppressed } = this.#refusals.note(wire.code);
      if (log) {
        const repeats = suppressed > 0 ? { alsoFailedSinceLastLine: suppressed } : {};
        this.#log[level]('an app request failed', {
          appId: instance.appId,
          code: wire.code,
          error: wire.message,
          ...repeats,
        });
      }
      if ('id' in message) this.#transport.send({ t: 'reply', id: message.id, ok: false, error: toWireError(error) });
    });
  }

  /** The channel closed: the app's tasks are handled as its exit. */
  closed(): void {
    if (!this.#instance) return;
    const { appId } = this.#instance;
    for (const [code, suppressed] of this.#refusals.drain()) {
      this.#log.warn('app requests failed', { appId, code, alsoFailedSinceLastLine: suppressed });
    }
    const unlogged = this.#stray.takeUnlogged();
    if (unlogged > 0) this.#log.warn(STRAY_COMPLETIONS, { appId, ignored: unlogged });
    this.#scheduler.detach(this.#instance);
  }

  /** Completions for tasks this connection does not hold: logged aggregated, then throttled, then closed. */
  #noteStray(instance: SessionAppInstance, count: number): void {
    const verdict = this.#stray.note(count);
    const context = { appId: instance.appId, pid: instance.pid };
    switch (verdict.action) {
      case 'none':
        return;
      case 'log':
        this.#log.warn(verdict.first ? STRAY_COMPLETION : STRAY_COMPLETIONS, { ...context, ignored: verdict.ignored });
        return;
      case 'throttle': {
        const message =
          `${instance.appId} keeps completing tasks it does not hold; not reading it ` + `for ${verdict.waitMs} ms`;
        this.#log.warn(message, { ...context, ignored: verdict.ignored, code: 'strayTaskFrames' });
        this.#transport.misbehaved?.('strayTaskFrames', { ignored: verdict.ignored });
        this.#transport.pause?.(verdict.waitMs);
        return;
      }
      case 'close': {
        this.#transport.misbehaved?.('strayTaskFrames', { ignored: verdict.ignored });
        const message =
          `too many completions for tasks this connection does not hold ` +
          `(${verdict.ignored} since the last log line)`;
        this.#transport.fail({ code: 'strayTaskFrames', message });
        return;
      }
    }
  }

  async #handle(instance: SessionAppInstance, message: AppMessage): Promise<void> {
    const reply = (id: number, data: unknown): void => this.#transport.send({ t: 'reply', id, ok: true, data });
    switch (message.t) {
      case 'submit': {
        const data: SubmitReplyData = {
          results: await this.#scheduler.submit(instance.appId, message.requests, instance),
        };
        return reply(message.id, data);
      }
      case 'cancel': {
        const data: CancelReplyData = { cancelled: await this.#scheduler.cancel(instance.appId, message.identifiers) };
        return reply(message.id, data);
      }
      case 'pending': {
        // The daemon's push requests are not the app's submissions.
        const own = this.#scheduler.pending(instance.appId).filter(({ request }) => request.kind !== 'push');
        const requests: PendingReplyData['requests'] = own.map(({ request }) => ({
          identifier: request.identifier,
          kind: request.kind as Exclude<typeof request.kind, 'push'>,
          earliestBeginAt: request.earliestBeginAt,
          requiresNetworkConnectivity: request.requiresNetworkConnectivity,
          requiresExternalPower: request.requiresExternalPower,
          requiresUnmeteredNetwork: request.requiresUnmeteredNetwork,
          ...(request.placement === 'any' ? { placement: 'any' as const } : {}),
          ...(request.requeueOnExit === false ? { requeueOnExit: false } : {}),
          ...(request.data !== undefined ? { data: request.data } : {}),
          ...(request.dependsOn ? { dependsOn: [...request.dependsOn] } : {}),
          interval: request.recurrence && !request.recurrence.calendar ? request.recurrence.intervalMs : null,
          ...pendingScheduleFields(request),
          attempt: request.attempt,
          ...(request.continued ? { title: request.continued.title, subtitle: request.continued.subtitle } : {}),
          submittedAt: request.submittedAt,
        }));
        return reply(message.id, { requests });
      }
      case 'explain':
        // An app may ask only about its own identifiers: the appId comes from the authenticated hello.
        return reply(message.id, await this.#scheduler.why(instance.appId, message.identifier));
      case 'started':
        this.#scheduler.started(instance, message.taskIds);
        return;
      case 'progress':
        this.#scheduler.progress(instance, message.updates);
        return;
      case 'completed':
        this.#noteStray(instance, this.#scheduler.completed(instance, message.completions));
        return;
      case 'notify':
        return reply(message.id, await this.#notifications.post(instance.appId, message.notification));
      case 'authorize':
        return reply(message.id, { status: await this.#notifications.requestAuthorization(instance.appId) });
      case 'pushCounts':
        return reply(message.id, await this.#scheduler.pushCounts(instance.appId));
      case 'actionsHandled':
        return this.#notifications.acknowledge(instance.appId, message.notificationIds);
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled message ${String(unreachable)}`);
      }
    }
  }
}

class SessionAppInstance implements AppInstance {
  readonly appId: string;
  readonly pid: number;
  constructor(
    readonly transport: SessionTransport,
    readonly instanceId: number,
    hello: AppHello,
    readonly launchId: string | null,
    readonly launchReason: LaunchReason,
    readonly registered: ReadonlySet<string>,
    readonly notificationActions: boolean,
  ) {
    this.appId = hello.appId;
    this.pid = hello.pid;
  }

  deliverActions(actions: readonly NotificationActionDelivery[]): void {
    this.transport.send({ t: 'actions', actions });
  }

  deliver(tasks: readonly TaskDelivery[]): void {
    this.transport.send({ t: 'tasks', tasks });
  }

  deliverBlock?: (block: BlockMessage) => void;

  /** Its SDK runs blocks of tasks (it said so in its hello). */
  takesBlocks(): void {
    this.deliverBlock = (block) => this.transport.send(block);
  }

  expire(tasks: readonly { taskId: string; reason: string }[]): void {
    this.transport.send({ t: 'expire', tasks });
  }

  terminate(reason: string): void {
    this.transport.send({ t: 'terminate', reason });
    this.transport.end();
  }
}

export function toWireError(error: unknown): WireError {
  if (error instanceof Error) {
    const { code, field } = error as Error & { code?: unknown; field?: unknown };
    return {
      code: typeof code === 'string' ? code : 'internalError',
      message: error.message,
      ...(typeof field === 'string' ? { field } : {}),
    };
  }
  return { code: 'internalError', message: String(error) };
}

/** A pending request's calendar and file triggers, as `getPendingTaskRequests` gives them back. */
function pendingScheduleFields(request: TaskRequest): {
  calendar?: string;
  timeZone?: string | null;
  triggers?: { paths: string[]; debounce: number };
} {
  const calendar = request.recurrence?.calendar;
  return {
    ...(calendar ? { calendar: calendar.expression, timeZone: calendar.timeZone } : {}),
    ...(request.triggers
      ? { triggers: { paths: [...request.triggers.paths], debounce: request.triggers.debounceMs } }
      : {}),
  };
}
