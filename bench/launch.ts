/**
 * Background launch: how long after a task falls due its handler starts, when the app is NOT running and
 * the daemon has to launch it, against the floor of starting the same app with a bare `node` (no daemon).
 *
 * Ours: a one-shot user process (launchSubmit.mjs) submits a refresh request due 1 s later and exits;
 * the app is not running (a small `appIdleTimeoutMs`, and `bgtasks apps` says so); the daemon launches
 * launchApp.mjs in the background, and its handler writes `Date.now()` to a file. The sample is
 * handler start − earliestBeginDate (one wall clock, one machine). Floor: `node launchApp.mjs --bare`
 * imports the SDK and prints `Date.now()`; the sample is that − the moment before spawn. The samples are
 * interleaved (a floor, then ours) after one warm-up of each, so both see the same disk cache and load.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type BetterSqlite3 from 'better-sqlite3';
import { percentile, type BenchOptions, type BenchReport } from './support/report.js';
import { APP_ID, ROOT, startSystem, type BenchSystem } from './support/system.js';

const LAUNCH_APP = join(import.meta.dirname, 'support', 'launchApp.mjs');
const SUBMIT = join(import.meta.dirname, 'support', 'launchSubmit.mjs');
const TARGET_MS = 30;
const DUE_IN_MS = 1_000;
const exec = promisify(execFile);
const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3') as typeof BetterSqlite3;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  /** spawn (floor) or due time (ours) to the app's first line of work, ms */
  readonly floorMs: number;
  readonly oursMs: number;
  /** Where ours went, from the daemon's store: due → dispatched → spawned → connected → handler. */
  readonly dispatchMs: number | null;
  readonly spawnMs: number | null;
  readonly connectMs: number | null;
  readonly handlerMs: number | null;
}

async function floorSample(cwd: string): Promise<number> {
  const before = Date.now();
  const { stdout } = await exec(process.execPath, [LAUNCH_APP, '--bare'], { cwd });
  const printed = Number(stdout.split('\n')[0]);
  if (!Number.isFinite(printed)) throw new Error(`launchApp.mjs --bare printed ${JSON.stringify(stdout)}`);
  return printed - before;
}

async function appRunning(system: BenchSystem): Promise<boolean> {
  const apps = JSON.parse(await system.cli('apps', '--json')) as {
    appId: string;
    running: boolean;
    processes: unknown[];
  }[];
  const app = apps.find((candidate) => candidate.appId === APP_ID);
  return Boolean(app?.running) || (app?.processes.length ?? 0) > 0;
}

interface HandlerLine {
  readonly identifier: string;
  readonly startedAt: number;
  readonly earliest: number;
  readonly pid: number;
}

function handlerLines(file: string): HandlerLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as HandlerLine);
}

async function oursSample(
  system: BenchSystem,
  store: BetterSqlite3.Database,
  appDir: string,
  logFile: string,
  sample: string,
): Promise<Omit<Sample, 'floorMs'> & { priority: unknown }> {
  // The app must not be running: the daemon stops it `appIdleTimeoutMs` after its last task.
  for (const guard = Date.now() + 30_000; await appRunning(system);) {
    if (Date.now() > guard) throw new Error('the app was still running 30 s after its last task');
    await sleep(50);
  }
  const { stdout } = await exec(
    process.execPath,
    [SUBMIT, `bench.app.job.launch.${sample}`, '1', String(DUE_IN_MS), '0'],
    {
      cwd: appDir,
      env: { ...process.env, BGTASKS_HOME: system.home, BGTASKS_APP_ID: APP_ID },
    },
  );
  const submission = JSON.parse(stdout) as { submitted: { identifier: string; earliest: number }[]; doneAt: number };
  const { identifier, earliest } = submission.submitted[0]!;
  if (submission.doneAt >= earliest)
    throw new Error(
      `the submitter took longer than ${DUE_IN_MS} ms: the app was still connected ` + `when the task fell due`,
    );
  let line: HandlerLine | undefined;
  for (
    const guard = Date.now() + 30_000;
    !(line = handlerLines(logFile).find((entry) => entry.identifier === identifier));
  ) {
    if (Date.now() > guard) throw new Error(`the handler of ${identifier} did not start within 30 s`);
    await sleep(10);
  }
  if (line.earliest !== earliest)
    throw new Error(`the handler saw earliest ${line.earliest}, the submitter ${earliest}`);
  // The store commits a turn's writes together, in order: once the run's start is in, so are its launch events.
  const runOf = store.prepare<[string], { eligible_at: number | null; started_at: number | null }>(
    'SELECT eligible_at, started_at FROM runs WHERE identifier = ?',
  );
  let run: { eligible_at: number | null; started_at: number | null } | undefined;
  for (
    const guard = Date.now() + 10_000;
    ((run = runOf.get(identifier))?.started_at ?? null) === null && Date.now() < guard;
  )
    await sleep(5);
  const launched = store
    .prepare<[number], { at: number; detail: string | null }>(
      `SELECT at, detail FROM events WHERE type = 'launched' AND reason = ` +
        `'background' AND at >= ? ORDER BY seq LIMIT 1`,
    )
    .get(earliest);
  const connected = store
    .prepare<[number], { at: number }>(
      `SELECT at FROM events WHERE type = 'appConnected' AND reason = 'background' ` +
        `AND at >= ? ORDER BY seq LIMIT 1`,
    )
    .get(earliest);
  const dispatchedAt = run?.eligible_at ?? null;
  return {
    oursMs: line.startedAt - earliest,
    dispatchMs: dispatchedAt === null ? null : dispatchedAt - earliest,
    spawnMs: dispatchedAt !== null && launched ? launched.at - dispatchedAt : null,
    connectMs: launched && connected ? connected.at - launched.at : null,
    handlerMs: connected ? line.startedAt - connected.at : null,
    priority: launched?.detail ? ((JSON.parse(launched.detail) as { priority?: unknown }).priority ?? null) : null,
  };
}

function describePriority(priority: unknown): string {
  if (typeof priority !== 'object' || priority === null) return '(not recorded)';
  const { nice, ioClass, cgroup } = priority as {
    nice?: number | null;
    ioClass?: string | null;
    cgroup?: string | null;
  };
  return `(nice ${nice ?? 'inherited'}, IO ${ioClass ?? 'inherited'}, cgroup scope ${cgroup ?? 'none'})`;
}

/** Runs `fn` with an environment variable set (the daemon copies `process.env` when it starts). */
async function withEnv<T>(name: string, value: string, fn: () => Promise<T>): Promise<T> {
  const previous = process.env[name];
  process.env[name] = value;
  try {
    return await fn();
  } finally {
    if (previous === undefined) delete process.env[name];
    else process.env[name] = previous;
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const count = options.quick ? 3 : 10;
  const dir = mkdtempSync(join(tmpdir(), 'bgt-bench-launch-'));
  const logFile = join(dir, 'handlers.jsonl');
  const samples: Sample[] = [];
  let priority: unknown = null;
  try {
    // The daemon passes its environment to the apps it launches: that is how the handler finds its log.
    await using system = await withEnv('BENCH_LAUNCH_LOG', logFile, () =>
      startSystem({ profile: 'server', appIdleTimeoutMs: 200, stopGraceMs: 1_000 }, [process.execPath, LAUNCH_APP]),
    );
    const store = new Database(join(system.home, 'store.sqlite'), { readonly: true, fileMustExist: true });
    const appDir = join(dirname(system.home), 'app');
    try {
      // One warm-up of each (disk cache, the SDK's first compile), not counted.
      await floorSample(appDir);
      await oursSample(system, store, appDir, logFile, 'warmup');
      for (let i = 0; i < count; i++) {
        const floorMs = await floorSample(appDir);
        const ours = await oursSample(system, store, appDir, logFile, `s${i}`);
        priority = ours.priority;
        samples.push({ floorMs, ...ours });
      }
    } finally {
      store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const floor = samples.map((sample) => sample.floorMs);
  const ours = samples.map((sample) => sample.oursMs);
  const stage = (key: 'dispatchMs' | 'spawnMs' | 'connectMs' | 'handlerMs'): number[] =>
    samples.map((sample) => sample[key]).filter((value): value is number => value !== null);
  const p50Diff = percentile(ours, 50) - percentile(floor, 50);
  const maxDiff = Math.max(...ours) - Math.max(...floor);
  const row = (what: string, values: number[]): Record<string, string | number> => ({
    what,
    samples: values.length,
    'p50 ms': percentile(values, 50),
    'max ms': values.length ? Math.max(...values) : NaN,
  });
  return {
    name: 'Background launch',
    method:
      `${count} samples, interleaved: a not-running app's refresh task due ` +
      `${DUE_IN_MS} ms after a one-shot submitter set it; due time → handler start ` +
      `(Date.now() in the launched app) vs spawn → first line of \`node ` +
      `launchApp.mjs --bare\` (same app, SDK imported, no daemon); launched at ` +
      `background priority ${describePriority(priority)}`,
    columns: ['what', 'samples', 'p50 ms', 'max ms'],
    rows: [
      row('bare node start of the app (floor)', floor),
      row('ours: due → handler start', ours),
      row('  due → dispatched (daemon wakes)', stage('dispatchMs')),
      row('  dispatched → spawned', stage('spawnMs')),
      row('  spawned → connected (node start, SDK, handshake)', stage('connectMs')),
      row('  connected → handler start', stage('handlerMs')),
      { what: 'ours − floor', samples: samples.length, 'p50 ms': p50Diff, 'max ms': maxDiff },
    ],
    results: {
      samples,
      floorMs: floor,
      oursMs: ours,
      p50DiffMs: p50Diff,
      maxDiffMs: maxDiff,
      dueInMs: DUE_IN_MS,
      backgroundPriority: priority,
    },
    targets: [
      {
        target: `handler start within ${TARGET_MS} ms of a bare node start (p50)`,
        measured:
          `ours p50 ${percentile(ours, 50)} ms vs floor p50 ${percentile(floor, 50)} ` +
          `ms: ${p50Diff} ms more (max ${Math.max(...ours)} vs ${Math.max(...floor)} ` +
          `ms)`,
        met: p50Diff <= TARGET_MS,
      },
    ],
  };
}
