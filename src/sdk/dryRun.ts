import { renameSync, writeFileSync } from 'node:fs';
import { PROTOCOL_VERSION, type DaemonMessage } from '../protocol/messages.js';
import { ENV, defaultHome } from '../shared/paths.js';
import { createDiscovery, type Discovery } from './discovery.js';
import { describeThrown } from './errors.js';
import type { AppFrame, DaemonLink } from './link.js';
import { formatLine } from './logger.js';
import type { TaskKind } from './requests.js';
import type { LaunchReason, SchedulerOptions } from './schedulerOptions.js';

/**
 * Dry-run mode, for `bgtasks check`: with `BGTASKS_DRY_RUN=<file>` in the environment the scheduler
 * never connects. A stand-in daemon (a {@link DaemonLink} in memory) welcomes the app, answers every call
 * with success (`submit` records, `getPendingTaskRequests` returns `[]`) so the app's start-up code takes
 * its normal path, and records what the app did. The report is written when the handshake would have
 * started (registration is closed then), and again at the end of a short window in which the app makes
 * its user-launch calls; then the process exits with 0.
 *
 * Standing in at the link (rather than branching inside the scheduler) keeps the scheduler's own code
 * path, including the moment registration closes, exactly what it is in a real launch.
 */

/** The file `bgtasks check` reads. `phase: 'started'` means the window had not ended (the app crashed or hung). */
export interface DryRunReport {
  readonly v: 1;
  readonly phase: 'started' | 'final';
  /** The app id as the SDK found it, or null when it found none. */
  readonly appId: string | null;
  readonly pid: number;
  readonly launchReason: LaunchReason;
  /** The identifiers and families the app registered handlers for, in order (as `hello` carries them). */
  readonly registered: readonly string[];
  /** Registrations the SDK refused: late (after the handshake started), duplicate or malformed. */
  readonly refused: readonly { readonly identifier: string; readonly reason: string }[];
  /** The requests the app submitted, in order. */
  readonly submitted: readonly { readonly identifier: string; readonly kind: TaskKind }[];
}

/**
 * How long the app may keep making calls after the handshake would have started. A user launch submits
 * its requests at start-up; an app that goes idle sooner ends the window at once.
 */
export const DRY_RUN_WINDOW_MS = 1000;

export class DryRun {
  readonly #file: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #base: SchedulerOptions;
  readonly #exit: (code: number) => void;
  /** Null until the handshake would have started. */
  #registered: readonly string[] | null = null;
  #appIdFound: string | null = null;
  readonly #refused: { identifier: string; reason: string }[] = [];
  readonly #submitted: { identifier: string; kind: TaskKind }[] = [];
  #done = false;
  #timer: NodeJS.Timeout | null = null;
  // The window also ends when the event loop empties, and a report is still written if the app exits
  // on its own (process.exit, a crash) during the window.
  readonly #onIdle = (): void => this.#finish(true);
  readonly #onExit = (): void => this.#finish(false);

  private constructor(file: string, env: NodeJS.ProcessEnv, base: SchedulerOptions) {
    this.#file = file;
    this.#env = env;
    this.#base = base;
    this.#exit = base.exit ?? ((code) => process.exit(code));
  }

  /** A dry run when `BGTASKS_DRY_RUN` is set in the scheduler's environment, else null. */
  static fromEnv(options: SchedulerOptions): DryRun | null {
    const env = options.env ?? process.env;
    const file = env[ENV.dryRun];
    return file ? new DryRun(file, env, options) : null;
  }

  /** The scheduler's options with the stand-in daemon: whatever `connect` was given, nothing connects. */
  get options(): SchedulerOptions {
    const base = this.#base.discovery ?? createDiscovery({ env: this.#env });
    const discovery: Discovery = {
      socketPath: () => base.socketPath(),
      // No manifest: the registry then accepts every well-formed registration, so the report shows what
      // the app tries to register and `bgtasks check` judges it against the manifest.
      manifest: () => null,
      // Neither an installed app nor a credential is needed: nothing is sent anywhere.
      resolve: () => ({
        home: defaultHome(this.#env),
        socketPath: base.socketPath(),
        appId: this.#appId(base) ?? 'unknown',
        credential: 'dry-run',
        manifest: null,
      }),
    };
    const connect = (): Promise<DaemonLink> => Promise.resolve(new DryRunLink((frame) => this.#answer(frame, base)));
    return { ...this.#base, discovery, connect };
  }

  /** Records a registration the scheduler refused. */
  refused(identifier: unknown, reason: string): void {
    this.#refused.push({
      identifier: typeof identifier === 'string' ? identifier : describeThrown(identifier, 200),
      reason,
    });
  }

  #launchReason(): LaunchReason {
    return this.#base.launchReason ?? (this.#env[ENV.launchReason] === 'background' ? 'background' : 'user');
  }

  #appId(discovery: Discovery): string | null {
    return this.#env[ENV.appId] || discovery.manifest()?.appId || null;
  }

  /** What the stand-in daemon answers to a frame, or null for no answer. */
  #answer(frame: AppFrame, discovery: Discovery): DaemonMessage | null {
    const reply = (id: number, data: unknown): DaemonMessage => ({ t: 'reply', id, ok: true, data });
    switch (frame.t) {
      case 'hello':
        if (frame.role !== 'app') return null;
        this.#begin(frame.registered, discovery);
        return {
          t: 'welcome',
          v: PROTOCOL_VERSION,
          daemonVersion: 'dry-run',
          launchReason: this.#launchReason() === 'background' ? 'background' : 'user',
          accepted: [...frame.registered],
          rejected: [],
          supportedResources: [],
          cancelledWhileAway: [],
        };
      case 'submit':
        for (const { identifier, kind } of frame.requests) this.#submitted.push({ identifier, kind });
        return reply(frame.id, { results: frame.requests.map(() => ({ ok: true })) });
      case 'cancel':
        return reply(frame.id, { cancelled: 0 });
      case 'pending':
        return reply(frame.id, { requests: [] });
      case 'authorize':
        return reply(frame.id, { status: 'notDetermined' });
      case 'notify':
        return {
          t: 'reply',
          id: frame.id,
          ok: false,
          error: { code: 'notificationsNotAllowed', message: 'a dry run (bgtasks check) posts no notifications' },
        };
      case 'pushCounts':
        return reply(frame.id, { pending: 0, held: 0, delivered: 0, collapsed: 0, expired: 0, failed: 0 });
      case 'explain':
        return reply(frame.id, {
          state: 'none',
          appId: this.#appId(discovery) ?? 'unknown',
          identifier: frame.identifier,
          summary: 'a dry run (bgtasks check) has no daemon to explain',
          history: [],
        });
      default:
        return null; // `started`, `completed`: no task is ever delivered in a dry run
    }
  }

  /** The handshake would start now: registration is closed, so the registrations are final. */
  #begin(registered: readonly string[], discovery: Discovery): void {
    if (this.#registered !== null) return; // a reconnection: the window is already open
    this.#registered = [...registered];
    this.#appIdFound = this.#appId(discovery);
    if (!this.#write('started')) return;
    this.#timer = setTimeout(() => this.#finish(true), DRY_RUN_WINDOW_MS);
    this.#timer.unref(); // so an app with nothing left to do reaches `beforeExit`
    process.once('beforeExit', this.#onIdle);
    process.once('exit', this.#onExit);
  }

  #finish(exit: boolean): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    process.off('beforeExit', this.#onIdle);
    process.off('exit', this.#onExit);
    if (this.#write('final') && exit) this.#exit(0);
  }

  /** Writes the report atomically (temp file, then rename), so `bgtasks check` never reads half of one. */
  #write(phase: DryRunReport['phase']): boolean {
    const report: DryRunReport = {
      v: 1,
      phase,
      appId: this.#appIdFound,
      pid: process.pid,
      launchReason: this.#launchReason(),
      registered: this.#registered ?? [],
      refused: this.#refused,
      submitted: this.#submitted,
    };
    const temp = `${this.#file}.${process.pid}.tmp`;
    try {
      writeFileSync(temp, `${JSON.stringify(report)}\n`, { mode: 0o600 });
      renameSync(temp, this.#file);
      return true;
    } catch (error) {
      // No report is worse than no check: fail loudly, so `bgtasks check` shows this line.
      process.stderr.write(
        formatLine('error', `dry run: could not write the report to ${this.#file}: ` + `${describeThrown(error)}`),
      );
      this.#done = true;
      this.#exit(1);
      return false;
    }
  }
}

/** The stand-in daemon's end of the link: answers on a later turn of the event loop, as a daemon would. */
class DryRunLink implements DaemonLink {
  readonly #answer: (frame: AppFrame) => DaemonMessage | null;
  readonly #messageListeners: ((message: DaemonMessage) => void)[] = [];
  readonly #closeListeners: ((error?: Error) => void)[] = [];
  #closed = false;

  constructor(answer: (frame: AppFrame) => DaemonMessage | null) {
    this.#answer = answer;
  }

  send(message: AppFrame): void {
    if (this.#closed) return;
    const answer = this.#answer(message);
    if (!answer) return;
    // A pending answer keeps the event loop busy, so the window does not end while a call waits.
    setImmediate(() => {
      if (this.#closed) return;
      for (const listener of this.#messageListeners) listener(answer);
    });
  }

  onMessage(listener: (message: DaemonMessage) => void): void {
    this.#messageListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    this.#closeListeners.push(listener);
  }

  ref(): void {}

  unref(): void {}

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    queueMicrotask(() => {
      for (const listener of this.#closeListeners.splice(0)) listener();
    });
  }
}
