/**
 * Real processes for integration tests: the daemon (`node dist/cli/main.js daemon`) on a temporary home,
 * the `bgtasks` command, app processes, and a watcher on the daemon's event stream so tests wait for
 * events instead of sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ControlClient } from '../../src/cli/controlClient.js';
import { homePaths } from '../../src/shared/paths.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
export const PROBE_APP = join(ROOT, 'test', 'fixtures', 'apps', 'probe');

/** A failure guard for waiting on real processes; never a timing assertion. */
const GUARD_MS = 20_000;

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  json<T = unknown>(): T;
}

export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), GUARD_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(guard);
      resolvePromise({ code, stdout, stderr, json: <T>() => JSON.parse(stdout) as T });
    });
  });
}

/**
 * Polls a condition the system reaches by itself; the guard only turns a hang into a failure (never a timing
 * assertion).
 */
export async function until<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  guardMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + guardMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolvePromise) => setTimeout(resolvePromise, 50));
  }
}

/** The conditions a test daemon starts with, whatever this machine's real load and heat. */
const PINNED_CONDITIONS = [
  'cpuPressure=nominal',
  'memoryPressure=nominal',
  'ioPressure=nominal',
  'thermalState=nominal',
];

export class TestHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'bgt-'));
  readonly home = join(this.dir, 'h');
  readonly probeDir = join(this.dir, 'probe');

  constructor() {
    mkdirSync(this.probeDir, { recursive: true });
  }

  get socket(): string {
    return homePaths(this.home).socket;
  }

  /** Runs the `bgtasks` command against this home. */
  /**
   * Pins this machine's real load (PSI) and heat to nominal on the running daemon: they must not decide
   * whether a test's task runs. Tests about those conditions set them themselves.
   */
  async pinConditions(): Promise<void> {
    const pinned = await this.cli('conditions', 'set', ...PINNED_CONDITIONS);
    if (pinned.code !== 0) throw new Error(`could not pin the test daemon's conditions: ${pinned.stderr}`);
  }

  /** Ends a test's overrides: `conditions reset`, then the pinned ones again (see pinConditions). */
  async resetConditions(): Promise<void> {
    const reset = await this.cli('conditions', 'reset');
    if (reset.code !== 0) throw new Error(`could not reset the test daemon's conditions: ${reset.stderr}`);
    await this.pinConditions();
  }

  cli(...args: string[]): Promise<RunResult> {
    return run(process.execPath, [CLI, '--home', this.home, ...args]);
  }

  /** Runs the probe app as a person would (`node main.mjs SCENARIO ...`), with this home. */
  probe(...args: string[]): Promise<RunResult> {
    return run(process.execPath, ['main.mjs', ...args], {
      cwd: PROBE_APP,
      env: { BGTASKS_HOME: this.home, PROBE_DIR: this.probeDir },
    });
  }

  configureProbe(config: Record<string, unknown>): void {
    writeFileSync(join(this.probeDir, 'config.json'), JSON.stringify(config));
  }

  probeEvents(): Record<string, unknown>[] {
    const file = join(this.probeDir, 'events.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** `env` adds to the daemon's environment, which the apps it launches inherit. */
  async startDaemon(
    options: readonly string[] = [],
    env: NodeJS.ProcessEnv = {},
    how: { readonly pinConditions?: boolean } = {},
  ): Promise<DaemonProcess> {
    return DaemonProcess.start(this, options, env, how);
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class DaemonProcess implements AsyncDisposable {
  #exited: Promise<number | null>;
  log = '';

  private constructor(
    readonly home: TestHome,
    readonly child: ChildProcess,
  ) {
    this.#exited = new Promise((resolvePromise) => child.once('exit', (code) => resolvePromise(code)));
  }

  /** `pinConditions: false` keeps the overrides the store already holds (a restart that must not change them). */
  static async start(
    home: TestHome,
    options: readonly string[],
    env: NodeJS.ProcessEnv = {},
    how: { readonly pinConditions?: boolean } = {},
  ): Promise<DaemonProcess> {
    const child = spawn(process.execPath, [CLI, '--home', home.home, 'daemon', ...options], {
      cwd: ROOT,
      env: { ...process.env, ...env, PROBE_DIR: home.probeDir, BGTASKS_HOME: home.home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const daemon = new DaemonProcess(home, child);
    await new Promise<void>((resolvePromise, reject) => {
      const guard = setTimeout(() => reject(new Error(`the daemon did not start:\n${daemon.log}`)), GUARD_MS);
      const onData = (chunk: Buffer): void => {
        daemon.log += chunk.toString();
        if (daemon.log.includes('listening')) {
          clearTimeout(guard);
          resolvePromise();
        }
      };
      child.stderr!.on('data', onData);
      child.stdout!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(guard);
        reject(new Error(`the daemon exited with ${code} while starting:\n${daemon.log}`));
      });
    });
    // This machine's real load (PSI) and heat must not decide whether a test's task runs: tests that
    // are about those conditions set them themselves.
    if (how.pinConditions === false) return daemon;
    await home.pinConditions();
    return daemon;
  }

  /** Connects a watcher to the daemon's event stream. */
  async watch(): Promise<EventWatcher> {
    return EventWatcher.connect(this.home.socket);
  }

  /** Resolves with the exit code once the daemon's process has exited (by itself, or killed). */
  get exited(): Promise<number | null> {
    return this.#exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child.kill(signal);
    return this.#exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) await this.kill('SIGTERM');
  }
}

export type WatchedEvent = Record<string, unknown>;

export class EventWatcher implements AsyncDisposable {
  readonly events: WatchedEvent[] = [];
  #waiters: { predicate: (event: WatchedEvent) => boolean; resolve: (event: WatchedEvent) => void }[] = [];

  private constructor(readonly client: ControlClient) {}

  static async connect(socket: string): Promise<EventWatcher> {
    const client = await ControlClient.connect(socket);
    const watcher = new EventWatcher(client);
    await client.watch((event) => watcher.#push(event as WatchedEvent));
    return watcher;
  }

  /** Resolves with the first event (already seen, or still to come) that matches. */
  next(predicate: (event: WatchedEvent) => boolean, description = 'an event'): Promise<WatchedEvent> {
    const seen = this.events.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolvePromise, reject) => {
      const guard = setTimeout(
        () =>
          reject(
            new Error(`timed out waiting for ${description}; saw: ` + `${JSON.stringify(this.events.slice(-10))}`),
          ),
        GUARD_MS,
      );
      this.#waiters.push({
        predicate,
        resolve: (event) => {
          clearTimeout(guard);
          resolvePromise(event);
        },
      });
    });
  }

  #push(event: WatchedEvent): void {
    this.events.push(event);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (!waiter.predicate(event)) return true;
      waiter.resolve(event);
      return false;
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.client.close();
  }
}
