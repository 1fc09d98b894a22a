import { spawn, type ChildProcess as NodeChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import type { AppRecord } from '../engine/types.js';
import { ENV, homePaths } from '../shared/paths.js';
import {
  BackgroundPriority,
  scopeUnitName,
  type AppliedPriority,
  type BackgroundPriorityConfig,
  type PrioritySupport,
} from './processPriority.js';
import type { AppLauncher, LaunchedProcess, LaunchReason, ProcessExit } from './scheduler/ports.js';

/** A launched process, plus the priority it was started at (for logs and `bgtasks doctor`). */
export interface LaunchedChildProcess extends LaunchedProcess {
  readonly priority: AppliedPriority;
}

export interface ChildProcessLauncherOptions {
  /** How background launches are lowered; see `DEFAULT_BACKGROUND_PRIORITY`. */
  readonly backgroundPriority?: BackgroundPriorityConfig;
}

/**
 * Launches apps as child processes: the manifest's argv, from the app's directory, never through a
 * shell, in a process group of its own (so killing it kills what it started), with stdout and stderr
 * appended to `logs/<appId>.log` under the home. The environment tells the SDK why it was launched.
 * Background launches start at background priority (nice, IO class, a low-weight user scope where
 * available; see processPriority.ts); user launches at the daemon's own.
 */
export class ChildProcessLauncher implements AppLauncher {
  readonly #home: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #priority: BackgroundPriority;

  constructor(home: string, env: NodeJS.ProcessEnv = process.env, options: ChildProcessLauncherOptions = {}) {
    this.#home = home;
    this.#env = env;
    this.#priority = new BackgroundPriority(env, options.backgroundPriority);
  }

  /** Which priority tools this system has and whether user scopes work (resolved once). */
  prioritySupport(): PrioritySupport {
    return this.#priority.support();
  }

  launch(
    app: AppRecord,
    launch: { readonly launchId: string; readonly reason: LaunchReason; readonly cause?: 'notificationAction' },
  ): LaunchedChildProcess {
    const paths = homePaths(this.#home);
    mkdirSync(paths.logsDir, { recursive: true, mode: 0o700 });
    const log = openSync(paths.appLogFile(app.appId), 'a', 0o600);
    const [command, ...args] = app.launch;
    if (!command) {
      closeSync(log);
      throw new Error(`${app.appId} has an empty launch command`);
    }
    const env: NodeJS.ProcessEnv = {
      ...this.#env,
      [ENV.home]: this.#home,
      // A person's launch from a notification's action: the app's launchReason says so.
      [ENV.launchReason]: launch.cause ?? launch.reason,
      [ENV.launchId]: launch.launchId,
      [ENV.appId]: app.appId,
    };
    let child;
    let priority: AppliedPriority;
    try {
      // The wrappers exec the app, so the pid (and the process group it leads) is the app's own.
      const plan = this.#priority.plan([command, ...args], {
        reason: launch.reason,
        cwd: app.dir,
        pathVar: env.PATH,
        unitName: scopeUnitName(app.appId, launch.launchId),
      });
      priority = plan.applied;
      const [file, ...rest] = plan.argv as [string, ...string[]];
      child = spawn(file, rest, { cwd: app.dir, detached: true, stdio: ['ignore', log, log], env });
    } finally {
      closeSync(log);
    }
    return new ChildProcess(launch.launchId, child, priority);
  }
}

class ChildProcess implements LaunchedChildProcess {
  readonly launchId: string;
  readonly priority: AppliedPriority;
  readonly #child: NodeChildProcess;
  #exit: ProcessExit | null = null;
  readonly #listeners: ((exit: ProcessExit) => void)[] = [];
  #killTimer: NodeJS.Timeout | null = null;

  constructor(launchId: string, child: NodeChildProcess, priority: AppliedPriority) {
    this.launchId = launchId;
    this.priority = priority;
    this.#child = child;
    child.once('error', (error) => this.#exited({ code: null, signal: null, error }));
    child.once('exit', (code, signal) => this.#exited({ code, signal, error: null }));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  onExit(listener: (exit: ProcessExit) => void): void {
    if (this.#exit) queueMicrotask(() => listener(this.#exit!));
    else this.#listeners.push(listener);
  }

  stop(graceMs: number): void {
    if (this.#exit) return;
    this.#signal('SIGTERM');
    this.#killTimer ??= setTimeout(() => this.kill(), graceMs).unref();
  }

  kill(): void {
    if (this.#exit) return;
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    const pid = this.#child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal); // the whole process group
    } catch {
      try {
        this.#child.kill(signal);
      } catch {
        // already gone
      }
    }
  }

  #exited(exit: ProcessExit): void {
    if (this.#exit) return;
    this.#exit = exit;
    if (this.#killTimer) clearTimeout(this.#killTimer);
    for (const listener of this.#listeners.splice(0)) listener(exit);
  }
}
