/**
 * A real bgtasks system for the benchmarks: the daemon as its own process (built `dist/`, a SQLite file
 * with its production settings), an app directory, and the bench app (benchApp.mjs) as a separate
 * process talking to the daemon through the public SDK over the socket. Nothing is mocked.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/**
 * The build under test: this checkout, or another one named by `BENCH_SYSTEM_ROOT` (a checkout with its
 * own `dist/`), so that an A/B run can alternate two builds in one process on the same machine. The bench
 * app is taken from that checkout too, so that it imports that build's SDK.
 */
export const SYSTEM_ROOT = process.env.BENCH_SYSTEM_ROOT ? resolve(process.env.BENCH_SYSTEM_ROOT) : ROOT;
export const CLI = join(SYSTEM_ROOT, 'dist', 'cli', 'main.js');
const BENCH_APP = join(SYSTEM_ROOT, 'bench', 'support', 'benchApp.mjs');
export const APP_ID = 'bench.app';
const run = promisify(execFile);
// The package's own better-sqlite3, not bench/node_modules' (the peers' project has its own copy).
const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3') as typeof BetterSqlite3;

export interface BenchSystem extends AsyncDisposable {
  readonly home: string;
  readonly daemon: ChildProcess;
  cli(...args: string[]): Promise<string>;
  /** Finished runs in the store: committed, so durable. */
  finishedRuns(): number;
  startApp(): Promise<BenchApp>;
}

export interface BenchApp {
  request<T = Record<string, unknown>>(message: Record<string, unknown>, reply: string): Promise<T>;
  readonly child: ChildProcess;
}

/** Starts a daemon with these `--option`s on a fresh home, with the bench app installed. */
export async function startSystem(
  options: Record<string, string | number>,
  launch: readonly string[] = ['node', BENCH_APP],
  daemonArgs: readonly string[] = [],
  daemonEnv: Readonly<Record<string, string>> = {},
): Promise<BenchSystem> {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-bench-'));
  const home = join(dir, 'home');
  const appDir = join(dir, 'app');
  mkdirSync(appDir);
  writeFileSync(
    join(appDir, 'package.json'),
    JSON.stringify({
      name: 'bench-app',
      type: 'module',
      bgtasks: {
        appId: APP_ID,
        launch,
        permittedIdentifiers: ['bench.app.job.*'],
        backgroundModes: ['processing', 'fetch'],
      },
    }),
  );
  const args = [
    CLI,
    '--home',
    home,
    'daemon',
    '--no-http',
    ...daemonArgs,
    ...Object.entries(options).flatMap(([name, value]) => ['--option', `${name}=${value}`]),
  ];
  const daemon = spawn(
    process.execPath,
    [...(process.env.BENCH_DAEMON_NODE_OPTIONS ? process.env.BENCH_DAEMON_NODE_OPTIONS.split(' ') : []), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...daemonEnv, BGTASKS_HOME: home } },
  );
  await new Promise<void>((resolvePromise, reject) => {
    let log = '';
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (!log.includes('listening')) return;
      // Stop collecting: the task log's lines would otherwise be kept and searched by this process,
      // taking CPU from the system being measured.
      daemon.stdout!.off('data', onData);
      daemon.stderr!.off('data', onData);
      resolvePromise();
    };
    daemon.stdout!.on('data', onData);
    daemon.stderr!.on('data', onData);
    daemon.once('exit', (code) => reject(new Error(`the daemon exited with ${code}:\n${log}`)));
  });
  daemon.stdout!.resume();
  daemon.stderr!.resume();
  const cli = async (...cliArgs: string[]): Promise<string> =>
    (await run(process.execPath, [CLI, '--home', home, ...cliArgs])).stdout;
  try {
    await cli('install', appDir);
    // This machine's real load must not decide whether the tasks run (the tests pin it the same way).
    await cli(
      'conditions',
      'set',
      'cpuPressure=nominal',
      'memoryPressure=nominal',
      'ioPressure=nominal',
      'thermalState=nominal',
    );
  } catch (error) {
    daemon.kill('SIGKILL'); // no system is handed back to dispose of it
    throw error;
  }
  // Opened when first asked: a daemon started with `--store postgres://…` (bench/support/fleet.ts) has no SQLite file.
  let store: BetterSqlite3.Database | null = null;
  let finished: BetterSqlite3.Statement<[], { n: number }> | null = null;
  const apps: ChildProcess[] = [];
  return {
    home,
    daemon,
    cli,
    finishedRuns: () => {
      store ??= new Database(join(home, 'store.sqlite'), { readonly: true, fileMustExist: true });
      finished ??= store.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM runs WHERE state = 'finished'`);
      return finished.get()!.n;
    },
    async startApp() {
      const child = fork(BENCH_APP, [], {
        execArgv: process.env.BENCH_APP_NODE_OPTIONS ? process.env.BENCH_APP_NODE_OPTIONS.split(' ') : [],
        cwd: appDir,
        env: { ...process.env, BGTASKS_HOME: home, BGTASKS_APP_ID: APP_ID },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      apps.push(child);
      const app: BenchApp = {
        child,
        request: (message, reply) =>
          new Promise((resolvePromise, reject) => {
            const listener = (answer: { op: string; message?: string }): void => {
              if (answer.op === 'error') reject(new Error(answer.message));
              else if (answer.op === reply) resolvePromise(answer as never);
              else return;
              child.off('message', listener);
            };
            child.on('message', listener);
            if (Object.keys(message).length > 0) child.send(message);
          }),
      };
      await app.request({}, 'ready');
      return app;
    },
    async [Symbol.asyncDispose]() {
      // Asked to exit first (so a profiled app writes its profile), killed if it does not.
      await Promise.all(
        apps.map(
          (child) =>
            new Promise((resolvePromise) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolvePromise(null);
              const guard = setTimeout(() => child.kill('SIGKILL'), 2_000);
              child.once('exit', () => resolvePromise(clearTimeout(guard)));
              child.send({ op: 'exit' });
            }),
        ),
      );
      store?.close();
      daemon.kill('SIGTERM');
      // A daemon the benchmark killed (bench/support/fleet.ts) has exited already.
      await new Promise((resolvePromise) =>
        daemon.exitCode !== null || daemon.signalCode !== null
          ? resolvePromise(null)
          : daemon.once('exit', resolvePromise),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when `probe` is true, checking every `everyMs` (a benchmark's finish line, not a test's timing). */
export async function until(probe: () => boolean, everyMs = 5, guardMs = 600_000): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('a benchmark did not finish within its guard');
    await new Promise((resolvePromise) => setTimeout(resolvePromise, everyMs));
  }
}

/** A process's CPU time so far (utime + stime of /proc/PID/stat, in clock ticks of 10 ms), in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
