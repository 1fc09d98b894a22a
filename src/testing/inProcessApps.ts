import { randomBytes } from 'node:crypto';
import { manifestSchema, loadManifest } from '../daemon/manifest.js';
import { hashCredential } from '../daemon/credentials.js';
import type {
  AppLauncher,
  LaunchedProcess,
  LaunchReason,
  ProcessExit,
  SchedulerLog,
} from '../daemon/scheduler/ports.js';
import type { SessionServices } from '../daemon/appSession.js';
import type { Clock } from '../engine/clock.js';
import type { AppRecord, BackgroundMode } from '../engine/types.js';
import { describeIssue } from '../protocol/messages.js';
import type { Discovery } from '../sdk/discovery.js';
import type { LogLevel } from '../sdk/logger.js';
import { BGTaskScheduler } from '../sdk/scheduler.js';
import { ENV } from '../shared/paths.js';
import { InProcessLink } from './inProcessLink.js';

/** An app under test: its manifest, and its start-up code. */
export interface TestApp {
  /**
   * The manifest, as in the `bgtasks` section of the app's package.json (`launch` is not needed here).
   * Give this or `dir`.
   */
  readonly manifest?: {
    readonly appId: string;
    readonly permittedIdentifiers: readonly string[];
    readonly backgroundModes: readonly BackgroundMode[];
    readonly launch?: readonly string[];
  };
  /** The app's directory: its manifest is read from its package.json, checked as `bgtasks install` does. */
  readonly dir?: string;
  /**
   * What the app does when it starts, given the scheduler it would get from `BGTaskScheduler.shared`:
   * register handlers (synchronously, as at start-up), and submit what a launch by the user submits.
   * It runs at every launch, by the user (`openApp`) or in the background.
   */
  readonly main: (scheduler: BGTaskScheduler) => unknown;
  /**
   * True for an app that stays open when the user starts it (a desktop or Electron app), until
   * `closeApp` or `forceQuit`. False for a command-line tool, which exits once its start-up code has
   * settled and its scheduler holds nothing. @default false
   */
  readonly keepsRunning?: boolean;
}

/** One line an app's SDK logged. */
export interface AppLogLine {
  readonly at: number;
  readonly appId: string;
  readonly level: LogLevel;
  readonly message: string;
}

export interface InstalledTestApp {
  readonly record: AppRecord;
  readonly credential: string;
  readonly app: TestApp;
}

/** Checks a test app's manifest as `bgtasks install` would, and makes its record and credential. */
export function installTestApp(app: TestApp, now: number): InstalledTestApp {
  if (typeof app?.main !== 'function') throw new TypeError('Expected each app to have a `main(scheduler)` function');
  let manifest;
  let dir: string;
  if (app.dir !== undefined) {
    const loaded = loadManifest(app.dir);
    manifest = loaded.manifest;
    dir = loaded.dir;
  } else {
    const parsed = manifestSchema.safeParse({ launch: ['node', 'main.mjs'], ...app.manifest });
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      throw Object.assign(new TypeError(`Invalid manifest of a test app: ${message}`), {
        code: 'invalidManifest',
        field: `manifest.${field}`,
      });
    }
    manifest = parsed.data;
    dir = '/in-process';
  }
  const credential = randomBytes(24).toString('base64url');
  const record: AppRecord = {
    appId: manifest.appId,
    dir,
    launch: [...manifest.launch],
    permittedIdentifiers: [...manifest.permittedIdentifiers],
    backgroundModes: [...manifest.backgroundModes],
    enabled: true,
    credentialHash: hashCredential(credential),
    installedAt: now,
  };
  return { record, credential, app };
}

export interface InProcessLauncherDeps {
  readonly clock: Clock;
  readonly log: SchedulerLog;
  readonly daemonVersion: string;
  services(): SessionServices;
  app(appId: string): InstalledTestApp | undefined;
  onLog(line: AppLogLine): void;
}

/**
 * Launches test apps in this process: each launch gets a scheduler of its own, connected to the
 * daemon's session code through an {@link InProcessLink}, and runs the app's `main`. Stopping or killing
 * the "process" closes its scheduler, as an exit closes a socket.
 */
export class InProcessLauncher implements AppLauncher {
  readonly #deps: InProcessLauncherDeps;
  readonly #running = new Set<InProcessApp>();
  #nextPid = 10_000;

  constructor(deps: InProcessLauncherDeps) {
    this.#deps = deps;
  }

  launch(
    record: AppRecord,
    launch: { readonly launchId: string; readonly reason: LaunchReason; readonly cause?: 'notificationAction' },
  ): LaunchedProcess {
    const installed = this.#deps.app(record.appId);
    if (!installed) throw new Error(`${record.appId} is not a test app of this system`);
    const process = new InProcessApp(
      installed,
      launch.launchId,
      launch.reason,
      launch.cause ?? null,
      this.#nextPid++,
      this.#deps,
      () => this.#running.delete(process),
    );
    this.#running.add(process);
    process.start();
    return process;
  }

  /**
   * Ends the user launches that are done, as a command-line tool exits when it has nothing left to do:
   * its start-up code has settled and its scheduler holds nothing (no call in flight, no task running).
   */
  reapFinished(): void {
    for (const process of this.#running) if (process.finished) process.exit({ code: 0, signal: null, error: null });
  }

  /** Ends the app's processes that the user started, as the user closing its windows would. */
  async closeUserLaunches(appId: string): Promise<number> {
    const mine = [...this.#running].filter((process) => process.appId === appId && process.reason === 'user');
    await Promise.all(mine.map((process) => process.exit({ code: 0, signal: null, error: null })));
    return mine.length;
  }

  /** Ends every app process (the system is closing). */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.#running].map((process) => process.exit({ code: null, signal: 'SIGTERM', error: null })),
    );
  }
}

class InProcessApp implements LaunchedProcess {
  readonly #installed: InstalledTestApp;
  readonly #deps: InProcessLauncherDeps;
  readonly #onGone: () => void;
  readonly #listeners: ((exit: ProcessExit) => void)[] = [];
  readonly #reason: LaunchReason;
  readonly #cause: 'notificationAction' | null;
  #scheduler: BGTaskScheduler | null = null;
  #link: InProcessLink | null = null;
  #mainSettled = false;
  #exit: ProcessExit | null = null;

  constructor(
    installed: InstalledTestApp,
    readonly launchId: string,
    reason: LaunchReason,
    cause: 'notificationAction' | null,
    readonly pid: number,
    deps: InProcessLauncherDeps,
    onGone: () => void,
  ) {
    this.#installed = installed;
    this.#reason = reason;
    this.#cause = cause;
    this.#deps = deps;
    this.#onGone = onGone;
  }

  get appId(): string {
    return this.#installed.record.appId;
  }

  get reason(): LaunchReason {
    return this.#reason;
  }

  get finished(): boolean {
    if (this.#reason !== 'user' || this.#installed.app.keepsRunning || !this.#mainSettled || this.#exit !== null)
      return false;
    return this.#link === null || this.#link.closed || !this.#link.referenced;
  }

  start(): void {
    const { record, credential, app } = this.#installed;
    const appId = record.appId;
    const manifest = {
      file: `${record.dir}/package.json`,
      appId,
      permittedIdentifiers: record.permittedIdentifiers,
      backgroundModes: record.backgroundModes,
    };
    const discovery: Discovery = {
      socketPath: () => 'in-process',
      manifest: () => manifest,
      resolve: () => ({ home: 'in-process', socketPath: 'in-process', appId, credential, manifest }),
    };
    const log = (level: LogLevel) => (message: string) =>
      this.#deps.onLog({ at: this.#deps.clock.now(), appId, level, message });
    const scheduler = BGTaskScheduler._create({
      connect: async () =>
        (this.#link = new InProcessLink(this.#deps.services(), this.#deps.log, this.#deps.daemonVersion, this.pid)),
      discovery,
      env: { [ENV.launchId]: this.launchId, [ENV.launchReason]: this.#cause ?? this.#reason, [ENV.appId]: appId },
      launchReason: this.#cause ?? this.#reason,
      exit: (code) => void this.exit({ code, signal: null, error: null }),
      logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
      clock: this.#deps.clock,
    });
    this.#scheduler = scheduler;
    try {
      Promise.resolve(app.main(scheduler)).then(
        () => (this.#mainSettled = true),
        (error: unknown) => this.#crashed(error),
      );
    } catch (error) {
      this.#crashed(error);
    }
  }

  onExit(listener: (exit: ProcessExit) => void): void {
    if (this.#exit) queueMicrotask(() => listener(this.#exit!));
    else this.#listeners.push(listener);
  }

  stop(): void {
    void this.exit({ code: null, signal: 'SIGTERM', error: null });
  }

  kill(): void {
    void this.exit({ code: null, signal: 'SIGKILL', error: null });
  }

  async exit(exit: ProcessExit): Promise<void> {
    if (this.#exit) return;
    this.#exit = exit;
    this.#onGone();
    await this.#scheduler?.close();
    for (const listener of this.#listeners.splice(0)) listener(exit);
  }

  #crashed(error: unknown): void {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    this.#deps.onLog({
      at: this.#deps.clock.now(),
      appId: this.#installed.record.appId,
      level: 'error',
      message: `the app's start-up threw: ${message}`,
    });
    void this.exit({ code: 1, signal: null, error: null });
  }
}
