// Over 400 lines: BGTaskScheduler's API and its connection's life share private state.
import { NAME_PATTERN } from '../protocol/identifiers.js';
import {
  PROTOCOL_VERSION,
  type AppHelloFrame,
  type AppMessage,
  type DaemonMessage,
  type ExplanationData,
  type RequestInput,
  type Welcome,
} from '../protocol/messages.js';
import { ENV } from '../shared/paths.js';
import { Calls, type Op } from './calls.js';
import { createDiscovery, type Discovery } from './discovery.js';
import { DryRun } from './dryRun.js';
import { BGTaskSchedulerError, describeThrown, systemUnreachableError } from './errors.js';
import { greet } from './handshake.js';
import { connectSocket, type DaemonLink } from './link.js';
import { createStderrLogger, safeLog, type Logger, type LogLevel } from './logger.js';
import { HandlerRegistry } from './registry.js';
import { BGTaskRequest } from './requests.js';
import { TaskRunner, type TaskHandler } from './taskRunner.js';
import { currentTaskId } from './taskContext.js';
import { PUSH_IDENTIFIER } from '../protocol/vocabulary/kinds.js';
import type { PushCounts } from './pushCounts.js';
import type { RemoteNotificationHandler } from './push.js';
import type { UserNotificationCenter } from './notifications.js';
import { SystemHandlers } from './systemHandlers.js';
import { OrphanGuard } from './orphanGuard.js';
import { asError, closedError, show, type LaunchReason, type SchedulerOptions } from './schedulerOptions.js';

const TOKEN = Symbol('BGTaskScheduler');

/** How {@link BGTaskScheduler.submit} treats an identifier that already has work (docs/workflows.md). */
export interface SubmitOptions {
  /** @default 'replace' */
  readonly existing?: 'keep' | 'replace' | 'append';
}

/**
 * Registers launch handlers and submits task requests: Apple's `BGTaskScheduler`. Use
 * {@link BGTaskScheduler.shared}.
 *
 * The first access to `shared` starts the handshake with the daemon on the next turn of the event loop;
 * register every handler before then (at start-up, at the top level of the app's entry module).
 *
 * While the app was launched by a person, the connection to the daemon does not keep the process alive
 * when nothing is in flight, so a command-line tool that submits and returns exits by itself. When the
 * daemon launched the app, the daemon decides when it is done.
 */
export class BGTaskScheduler {
  static #shared: BGTaskScheduler | undefined;

  readonly #env: NodeJS.ProcessEnv;
  readonly #discovery: Discovery;
  readonly #connect: (socketPath: string) => Promise<DaemonLink>;
  readonly #exit: (code: number) => void;
  readonly #handshakeTimeoutMs: number;
  readonly #clock: { now(): number };
  #supportedResources: string[] = [];
  /** Whether the daemon takes `parentTaskId` in submissions (its welcome says so; an older one refuses it). */
  #daemonTakesParents = false;
  /** Continued requests this process submitted whose task has not arrived yet. */
  readonly #awaitingContinued = new Set<string>();
  readonly #cancelledWhileAway: { identifier: string; reason: string; at: number }[] = [];
  #logger: Logger;
  #launchReason: LaunchReason;
  readonly #handlers: HandlerRegistry;
  readonly #calls = new Calls();
  readonly #runner: TaskRunner;
  readonly #system: SystemHandlers;
  /** Ends a background process whose daemon went away and did not come back (orphanGuard.ts). */
  readonly #orphanGuard: OrphanGuard;
  #startScheduled = false;
  #flushScheduled = false;
  #closed = false;
  /** The link being greeted or ready; messages from any other link are stale. */
  #link: DaemonLink | null = null;
  #ready = false;
  #connecting: Promise<DaemonLink> | null = null;
  /** Ends the wait for `welcome` (set while waiting). */
  #abortHandshake: ((error: Error) => void) | null = null;
  /** Set under `bgtasks check` (BGTASKS_DRY_RUN): a stand-in daemon answers and records, see dryRun.ts. */
  readonly #dryRun: DryRun | null;

  private constructor(token: symbol, options: SchedulerOptions) {
    if (token !== TOKEN) throw new TypeError('BGTaskScheduler cannot be constructed: use `BGTaskScheduler.shared`');
    this.#dryRun = DryRun.fromEnv(options);
    options = this.#dryRun?.options ?? options;
    this.#env = options.env ?? process.env;
    this.#discovery = options.discovery ?? createDiscovery({ env: this.#env });
    this.#connect = options.connect ?? ((socketPath) => connectSocket(socketPath));
    this.#exit = options.exit ?? ((code) => process.exit(code));
    this.#clock = options.clock ?? { now: () => Date.now() };
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? 10_000;
    if (!Number.isFinite(this.#handshakeTimeoutMs) || this.#handshakeTimeoutMs <= 0) {
      throw new TypeError(
        `Expected \`handshakeTimeoutMs\` to be a finite number > 0, got ` + `\`${String(options.handshakeTimeoutMs)}\``,
      );
    }
    this.#logger = options.logger ?? createStderrLogger(this.#env);
    const fromEnv = this.#env[ENV.launchReason];
    this.#launchReason =
      options.launchReason ?? (fromEnv === 'background' || fromEnv === 'notificationAction' ? fromEnv : 'user');
    const discovery = this.#discovery;
    this.#handlers = new HandlerRegistry(() => discovery.manifest());
    this.#system = new SystemHandlers({
      registrationOpen: () => this.#handlers.open && !this.#link,
      closed: () => this.#closed,
      manifest: () => discovery.manifest(),
      call: <T>(frame: (id: number) => AppMessage, parse: (data: unknown) => T) =>
        new Promise<T>((resolve, reject) =>
          this.#enqueue({ type: 'call', frame, parse, resolve: resolve as (value: unknown) => void, reject }),
        ),
      log: (level, message) => this.#log(level, message),
      changed: () => this.#changed(),
    });
    if (this.#launchReason === 'notificationAction') this.#system.awaitAction();
    this.#runner = new TaskRunner({
      handlerFor: (identifier) => this.#handlers.lookup(identifier),
      pushHandler: () => this.#system.push ?? undefined,
      logger: () => this.#logger,
      changed: () => this.#changed(),
    });
    this.#orphanGuard = new OrphanGuard({
      launchedByDaemon: () => this.#launchReason === 'background' && Boolean(this.#env[ENV.launchId]),
      closed: () => this.#closed,
      reconnect: () => this.#ensureConnected(),
      exit: (code) => this.#exit(code),
      log: (level, message) => this.#log(level, message),
    });
  }

  /** The scheduler of this process. The first access starts the handshake with the daemon on the next tick. */
  static get shared(): BGTaskScheduler {
    const scheduler = (BGTaskScheduler.#shared ??= new BGTaskScheduler(TOKEN, {}));
    scheduler.#scheduleStart();
    return scheduler;
  }

  /** A scheduler of its own, for tests and the testing kit. It connects on its first use. @internal */
  static _create(options: SchedulerOptions = {}): BGTaskScheduler {
    return new BGTaskScheduler(TOKEN, options);
  }

  /** Where the SDK logs. Assign to route its lines elsewhere. */
  get logger(): Logger {
    return this.#logger;
  }

  set logger(logger: Logger) {
    const levels: LogLevel[] = ['debug', 'info', 'warn', 'error'];
    if (typeof logger !== 'object' || logger === null || levels.some((level) => typeof logger[level] !== 'function')) {
      throw new TypeError('Expected `logger` to have debug, info, warn and error methods');
    }
    this.#logger = logger;
  }

  /**
   * The current time, as the system sees it. Compute `earliestBeginDate`s from it
   * (`new Date(scheduler.now().getTime() + 15 * 60_000)`): in production it is `Date.now()`, and in the
   * testing kit it is the virtual clock, so the same code runs a virtual week in milliseconds.
   */
  now(): Date {
    return new Date(this.#clock.now());
  }

  /**
   * Hardware this machine offers continued processing tasks (`cpu`, `gpu`), as the daemon detected it;
   * known once connected (`await` any call first). Apple's `BGTaskScheduler.supportedResources`.
   */
  get supportedResources(): readonly string[] {
    return this.#supportedResources;
  }

  /**
   * The continued processing tasks the system cancelled while the app was away (the user force-quit it),
   * told once when the app connects again: show the person what did not finish.
   */
  async getCancelledContinuedTasks(): Promise<{ identifier: string; reason: string; at: Date }[]> {
    await this.#ensureConnected();
    return this.#cancelledWhileAway.splice(0).map((entry) => ({ ...entry, at: new Date(entry.at) }));
  }

  /** `background` when the daemon launched this process for a task; confirmed by the daemon's welcome. */
  get launchReason(): LaunchReason {
    return this.#launchReason;
  }

  /**
   * Registers the launch handler for an identifier, or for a family (`com.example.export.*`, which
   * handles every identifier under it; an exact registration wins over a family). Register at start-up:
   * a registration after the handshake with the daemon started is refused.
   *
   * @returns false, with a warning in the log, when the registration is late, a duplicate, malformed,
   * or not permitted by the app's manifest (`permittedIdentifiers`); never throws.
   */
  register(identifier: string, handler: TaskHandler): boolean {
    this.#scheduleStart();
    const refused = this.#closed ? 'the scheduler has been closed' : this.#handlers.add(identifier, handler);
    if (refused !== null) {
      this.#dryRun?.refused(identifier, refused);
      this.#log('warn', `register(${show(identifier)}) refused: ${refused}`);
      return false;
    }
    this.#log('debug', `registered a handler for ${identifier}`);
    return true;
  }

  /**
   * Handles background pushes (Apple's `didReceiveRemoteNotification:fetchCompletionHandler:`): the
   * handler gets each push sent to `POST /v1/apps/{appId}/push` (or `bgtasks push`), in order, and
   * returns `'newData'`, `'noData'` or `'failed'`; it has a refresh task's time limit (watch
   * `task.signal`). When the app is not running, the system launches it in the background for the push.
   * Every push arrives at least once: a delivery the app did not complete comes again with the same
   * `push.id` and a higher `push.attempt`. Needs the `remote-notification` background mode in the
   * manifest. Register at start-up.
   *
   * @returns false, with a warning in the log, when late, a second handler, or the mode is missing.
   */
  onRemoteNotification(handler: RemoteNotificationHandler): boolean {
    this.#scheduleStart();
    const refused = this.#system.setPush(handler);
    if (refused === null) return true;
    this.#dryRun?.refused(PUSH_IDENTIFIER, refused);
    this.#log('warn', `onRemoteNotification refused: ${refused}`);
    return false;
  }

  /** User notifications: ask to post, post, and handle the actions the person chooses. */
  get notifications(): UserNotificationCenter {
    this.#scheduleStart();
    return this.#system.notifications;
  }

  /** Beyond Apple: what became of the app's pushes (`held`: waiting for the person to open the app or switch it on). */
  getPushCounts(): Promise<PushCounts> {
    return this.#system.pushCounts();
  }

  /**
   * Submits a request; a pending request with the same identifier is replaced. Submissions made in the
   * same tick travel together.
   *
   * Beyond Apple, `options.existing` says what to do when the identifier already has a pending request
   * or a running task (docs/workflows.md): `'replace'` (the default, as on iOS), `'keep'` (leave it, drop
   * this one), `'append'` (run this one after the running task, if it succeeds).
   * @throws BGTaskSchedulerError (as a rejection) `invalidRequest` with `field`, `notPermitted`,
   * `tooManyPendingTaskRequests`, `unavailable` (not installed, disabled), `systemUnreachable` (no daemon).
   */
  submit(request: BGTaskRequest, options: SubmitOptions = {}): Promise<void> {
    let input: RequestInput;
    try {
      if (!(request instanceof BGTaskRequest)) {
        throw new BGTaskSchedulerError(
          'invalidRequest',
          'expected a BGAppRefreshTaskRequest or a BGProcessingTaskRequest',
          { field: 'request' },
        );
      }
      input = request.toInput();
      const existing: unknown = (options as SubmitOptions | null)?.existing;
      if (existing !== undefined && existing !== 'keep' && existing !== 'replace' && existing !== 'append') {
        const got = JSON.stringify(existing) ?? String(existing);
        const message = `existing: expected 'keep', 'replace' or 'append', got ${got}`;
        throw new BGTaskSchedulerError('invalidRequest', message, { field: 'existing' });
      }
      // Sent only when it says something, so a plain submit reads the same to an older daemon.
      if (existing === 'keep' || existing === 'append') input = { ...input, existing };
    } catch (error) {
      return Promise.reject(asError(error));
    }
    // From inside a handler, the request names its task, so a re-run of the task does not repeat it (sent
    // only to a daemon that takes it: the welcome that says so may come after this call).
    const parentTaskId = currentTaskId();
    if (parentTaskId !== undefined) input = { ...input, parentTaskId };
    const continued = input.kind === 'continued' ? input.identifier : null;
    return new Promise<void>((resolve, reject) => this.#enqueue({ type: 'submit', input, resolve, reject })).then(
      () => {
        // Work the person started runs in this process: keep it alive until the task arrives (it may wait
        // in line), rather than exit and have the system launch the app again for it.
        if (continued !== null && !this.#closed) {
          this.#awaitingContinued.add(continued);
          this.#updateRef();
        }
      },
    );
  }

  /**
   * Cancels the pending request with this identifier, if any. Awaiting is optional: the promise rejects
   * only with `systemUnreachable` (no daemon), and never causes an unhandled rejection; other failures
   * are logged.
   */
  cancel(identifier: string): Promise<void> {
    if (typeof identifier !== 'string' || !NAME_PATTERN.test(identifier)) {
      this.#log('warn', `cancel(${show(identifier)}) ignored: not a reverse-DNS identifier`);
      return Promise.resolve();
    }
    this.#awaitingContinued.delete(identifier);
    return this.#cancel([identifier]);
  }

  /** Cancels every pending request of the app. Like {@link cancel}, it rejects only with `systemUnreachable`. */
  cancelAll(): Promise<void> {
    this.#awaitingContinued.clear();
    return this.#cancel(null);
  }

  /**
   * The app's requests not yet run. They are copies: change one and submit it to change the request.
   * @throws BGTaskSchedulerError (as a rejection) `unavailable` or `systemUnreachable`.
   */
  getPendingTaskRequests(): Promise<BGTaskRequest[]> {
    return new Promise<BGTaskRequest[]>((resolve, reject) => this.#enqueue({ type: 'pending', resolve, reject }));
  }

  /**
   * Beyond Apple: why the task with this identifier has not run, from the daemon's own decision: each
   * policy's verdict (what holds it back first), the earliest time it could start or the event that
   * would unblock it, and its recent history. The same data as `bgtasks why`, so an app can show its
   * users a straight answer.
   * @throws BGTaskSchedulerError (as a rejection) `invalidRequest` (field `identifier`), `unavailable`
   * or `systemUnreachable`.
   */
  explain(identifier: string): Promise<ExplanationData> {
    if (typeof identifier !== 'string' || !NAME_PATTERN.test(identifier)) {
      return Promise.reject(
        new BGTaskSchedulerError('invalidRequest', `identifier: expected a reverse-DNS name, got ${show(identifier)}`, {
          field: 'identifier',
        }),
      );
    }
    return new Promise<ExplanationData>((resolve, reject) =>
      this.#enqueue({ type: 'explain', identifier, resolve, reject }),
    );
  }

  /**
   * Closes the connection to the daemon: open tasks' signals are aborted (reason `schedulerClosed`),
   * calls still waiting reject with `unavailable`. The scheduler cannot be used afterwards.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#orphanGuard.cancel();
    this.#calls.failAll(closedError());
    this.#runner.detach('schedulerClosed');
    this.#abortHandshake?.(closedError());
    const link = this.#link;
    this.#link = null;
    this.#ready = false;
    link?.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #cancel(identifiers: string[] | null): Promise<void> {
    const what = identifiers ? `cancel(${JSON.stringify(identifiers[0])})` : 'cancelAll()';
    const promise = new Promise<void>((resolve, reject) =>
      this.#enqueue({ type: 'cancel', identifiers, resolve, reject }),
    ).catch((error: unknown) => {
      this.#log('warn', `${what} failed: ${describeThrown(error)}`);
      if (error instanceof BGTaskSchedulerError && error.code === 'systemUnreachable') throw error;
    });
    promise.catch(() => undefined); // awaiting is optional: never an unhandled rejection
    return promise;
  }

  #enqueue(op: Op): void {
    if (this.#closed) {
      op.reject(closedError());
      return;
    }
    this.#scheduleStart();
    this.#calls.enqueue(op);
    this.#scheduleFlush();
    this.#updateRef();
  }

  #scheduleStart(): void {
    if (this.#startScheduled || this.#closed) return;
    this.#startScheduled = true;
    setImmediate(() => {
      this.#handlers.close();
      // With calls queued, their flush connects (and reports a failure to the callers).
      if (this.#closed || this.#link || this.#calls.queued > 0) return;
      this.#ensureConnected().catch((error: unknown) => {
        if (!this.#closed) this.#log('warn', `could not connect to the daemon: ${describeThrown(error)}`);
      });
    });
  }

  /** Something to send, or a change in what keeps the process alive. */
  #changed(): void {
    this.#scheduleFlush();
    this.#updateRef();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flush().catch((error: unknown) =>
        this.#log('error', `could not send to the daemon: ${describeThrown(error)}`),
      );
    });
  }

  /** Sends what this tick queued, in order: `started`, the calls, `completed`. */
  async #flush(): Promise<void> {
    this.#flushScheduled = false;
    if (this.#calls.queued > 0 && !this.#ready) {
      try {
        await this.#ensureConnected();
      } catch (error) {
        this.#calls.failQueued(asError(error));
        this.#updateRef();
        return;
      }
    }
    const link = this.#ready ? this.#link : null;
    if (!link) return;
    const { started, progress, completed } = this.#runner.takeOutgoing();
    for (let i = 0; i < started.length; i += 10_000) link.send({ t: 'started', taskIds: started.slice(i, i + 10_000) });
    for (let i = 0; i < progress.length; i += 10_000)
      link.send({ t: 'progress', updates: progress.slice(i, i + 10_000) });
    this.#calls.sendQueued((frame) => link.send(frame), { daemonTakesParents: this.#daemonTakesParents });
    for (let i = 0; i < completed.length; i += 10_000)
      link.send({ t: 'completed', completions: completed.slice(i, i + 10_000) });
    for (const frame of this.#system.takeAcknowledged()) link.send(frame);
    this.#updateRef();
  }

  #ensureConnected(): Promise<DaemonLink> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#ready && this.#link) return Promise.resolve(this.#link);
    this.#handlers.close();
    this.#connecting ??= this.#handshake().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #handshake(): Promise<DaemonLink> {
    const context = this.#discovery.resolve();
    const { socketPath } = context;
    let link: DaemonLink;
    try {
      link = await this.#connect(socketPath);
    } catch (error) {
      if (error instanceof BGTaskSchedulerError) throw error;
      const code = (error as { code?: unknown } | null)?.code;
      throw systemUnreachableError(socketPath, typeof code === 'string' ? code : describeThrown(error), error);
    }
    if (this.#closed) {
      link.close();
      throw closedError();
    }
    this.#link = link;
    const hello: AppHelloFrame = {
      t: 'hello',
      v: PROTOCOL_VERSION,
      role: 'app',
      appId: context.appId,
      credential: context.credential,
      pid: process.pid,
      launchId: this.#env[ENV.launchId] || null,
      // This SDK runs blocks of tasks at the concurrency the daemon names (TaskRunner.deliverBlock).
      blocks: true,
      // The system's handlers after the app's; `notificationActions` only when set, as older daemons know the hello.
      ...this.#system.helloFields(this.#handlers.patterns()),
    };
    const greeting = greet(link, hello, {
      socketPath,
      timeoutMs: this.#handshakeTimeoutMs,
      onMessage: (message) => this.#dispatch(link, message),
      onClose: (error) => this.#lost(link, socketPath, error),
    });
    this.#abortHandshake = greeting.abort;
    this.#updateRef();
    let welcome: Welcome;
    try {
      welcome = await greeting.welcome;
    } catch (error) {
      if (this.#link === link) this.#link = null;
      throw error;
    } finally {
      this.#abortHandshake = null;
    }
    if (this.#closed || this.#link !== link) {
      link.close();
      throw this.#closed
        ? closedError()
        : systemUnreachableError(socketPath, 'the connection closed during the handshake');
    }
    // The daemon confirms background or user; a person's launch from a notification's action stays that.
    if (!(welcome.launchReason === 'user' && this.#launchReason === 'notificationAction'))
      this.#launchReason = welcome.launchReason;
    this.#supportedResources = [...(welcome.supportedResources ?? [])];
    this.#daemonTakesParents = welcome.parentTaskId === true;
    this.#cancelledWhileAway.push(...(welcome.cancelledWhileAway ?? []));
    for (const cancelled of welcome.cancelledWhileAway ?? []) {
      this.#log(
        'info',
        `continued task ${cancelled.identifier} was cancelled while the app was away ` + `(${cancelled.reason})`,
        { ...cancelled },
      );
    }
    for (const { identifier, reason, message } of welcome.rejected) {
      this.#handlers.remove(identifier);
      this.#log('warn', `the daemon rejected the registration of ${identifier} (${reason}): ${message}`);
    }
    this.#ready = true;
    this.#orphanGuard.cancel();
    if (this.#runner.busy) this.#scheduleFlush(); // tasks that came with the welcome
    this.#log('debug', `connected to the daemon ${welcome.daemonVersion} at ${socketPath}`, {
      launchReason: welcome.launchReason,
    });
    this.#updateRef();
    return link;
  }

  #dispatch(link: DaemonLink, message: DaemonMessage): void {
    if (link !== this.#link) return;
    switch (message.t) {
      case 'reply':
        if (!this.#calls.settle(message)) this.#log('debug', `ignoring a reply to unknown call ${message.id}`);
        break;
      case 'tasks':
        for (const task of message.tasks) this.#awaitingContinued.delete(task.identifier);
        this.#runner.deliver(message.tasks);
        break;
      case 'block':
        this.#runner.deliverBlock(message);
        break;
      case 'expire':
        this.#runner.expire(message.tasks);
        break;
      case 'actions':
        this.#system.handleActions(message.actions);
        break;
      case 'terminate':
        this.#log('error', `the daemon terminated the app: ${message.reason}`);
        this.#exit(1);
        break;
      case 'error':
        this.#log('error', `the daemon reported an error: ${message.error.message} (${message.error.code})`);
        break;
      default:
        this.#log('debug', `ignoring an unexpected ${message.t} frame`);
    }
    this.#updateRef();
  }

  #lost(link: DaemonLink, socketPath: string, error: Error | undefined): void {
    if (link !== this.#link) return;
    this.#link = null;
    this.#ready = false;
    // A clean close with nothing outstanding is how a daemon may end a run; anything else is news.
    const cutOff = this.#runner.openCount > 0 || this.#calls.busy;
    const level = error || cutOff ? 'warn' : 'info';
    this.#log(level, `lost the connection to the daemon${error ? `: ${error.message}` : ''}`);
    this.#runner.detach('daemonUnreachable');
    // Work was cut off: the daemon did not end this link as it ends a run's, it went away.
    if (cutOff) this.#orphanGuard.linkLost();
    this.#calls.failInFlight(systemUnreachableError(socketPath, 'the connection to the daemon closed', error));
  }

  /** Background launches keep the link ref'd; user launches only while something is in flight. */
  #updateRef(): void {
    const link = this.#link;
    if (!link) return;
    if (
      this.#launchReason === 'background' ||
      this.#calls.busy ||
      this.#runner.busy ||
      this.#awaitingContinued.size > 0 ||
      this.#system.busy
    )
      link.ref();
    else link.unref();
  }

  #log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    safeLog(this.#logger, level, message, fields);
  }
}
