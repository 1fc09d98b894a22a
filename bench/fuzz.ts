/**
 * The long fuzz run: 100,000 random and mutated cases per surface (the test, test/integration/fuzz.test.ts,
 * runs a bounded sample of the same cases) against a real daemon on a fresh home: first frames of
 * unauthenticated connections, an authenticated app session, control connections, the push route and
 * the dashboard API. Counts daemon crashes, hangs, refusals answered with a code, internal errors and
 * answers the protocol's schemas disagree with, and checks the store (`PRAGMA integrity_check`, its JSON
 * columns, the legitimate task, no rows of apps that are not installed) during and after each surface.
 *
 *   npm run bench -- --only fuzz [--quick]              (BGTASKS_FUZZ_CASES and BGTASKS_FUZZ_SEED apply)
 *   node --import tsx bench/fuzz.ts --cases 100000 [--seed N] [--concurrency 2]
 *
 * Writes bench/results/fuzz.json (fuzz-quick.json for --quick).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  ErrorLog,
  SURFACES,
  fuzzCases,
  fuzzSeed,
  fuzzSurface,
  prepareFuzz,
  storeProblems,
  type FuzzContext,
  type SurfaceReport,
} from '../test/support/fuzz.js';
import { table, type BenchOptions, type BenchReport } from './support/report.js';
import { CLI, ROOT } from './support/system.js';

const FULL_CASES = 100_000;
/** --quick (CI): a few thousand cases in all, well under half a minute. */
const QUICK_CASES = 800;
/** Failure guard for the daemon's start; never a measurement. */
const START_GUARD_MS = 30_000;
/** As in the test: at most one background launch of the fuzzed app, whatever the cases submit. */
const DAEMON_OPTIONS = [
  '--option',
  'backgroundLaunchesPerDay=1',
  '--option',
  'usageBonus=false',
  '--option',
  'maxBackgroundProcesses=1',
];

interface FuzzSettings {
  readonly cases: number;
  readonly seed: number;
  readonly concurrency: number;
  readonly quick: boolean;
}

interface Daemon {
  readonly child: ChildProcess;
  readonly errors: ErrorLog;
  alive(): boolean;
  stop(): Promise<void>;
}

/** The daemon as its own process, its output read only for error lines (it warns once per connection it closes). */
async function startDaemon(home: string): Promise<Daemon> {
  const child = spawn(process.execPath, [CLI, '--home', home, 'daemon', ...DAEMON_OPTIONS], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BGTASKS_HOME: home },
  });
  const errors = new ErrorLog();
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const guard = setTimeout(() => reject(new Error(`the daemon did not start:\n${log}`)), START_GUARD_MS);
    const onData = (chunk: Buffer): void => {
      log += chunk.toString();
      if (!log.includes('listening')) return;
      clearTimeout(guard);
      child.stdout!.off('data', onData);
      child.stderr!.off('data', onData);
      errors.take(child.stdout!);
      errors.take(child.stderr!);
      errors.feed(log);
      resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the daemon exited with ${code} while starting:\n${log}`)));
  });
  const alive = (): boolean => child.exitCode === null && child.signalCode === null;
  return {
    child,
    errors,
    alive,
    stop: async () => {
      if (!alive()) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Every surface in turn on one daemon; a crash is counted, and the next surface gets a new daemon on the same home. */
async function fuzzAll(
  settings: FuzzSettings,
): Promise<{ reports: SurfaceReport[]; store: string[]; errorLines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-bench-fuzz-'));
  const home = join(dir, 'h');
  const reports: SurfaceReport[] = [];
  const store: string[] = [];
  const errorLines: string[] = [];
  let daemon = await startDaemon(home);
  try {
    let context: FuzzContext = await prepareFuzz(home, settings.seed);
    for (const surface of SURFACES) {
      if (!daemon.alive()) {
        errorLines.push(...daemon.errors.lines);
        daemon = await startDaemon(home);
        context = await prepareFuzz(home, settings.seed);
      }
      const report = await fuzzSurface(
        surface,
        context,
        { alive: daemon.alive },
        {
          cases: settings.cases,
          healthEvery: settings.quick ? 400 : 10_000,
          stopOnFailure: false,
          concurrency: settings.concurrency,
        },
      );
      reports.push(report);
      store.push(storeProblems(context)[0] ?? 'ok');
      console.log(
        `  ${surface}: ${report.cases} cases in ` +
          `${(report.durationMs / 1000).toFixed(0)} s, ` +
          `${report.failures.length === 0 ? 'no failure' : report.failures.slice(0, 5).join('\n    ')}`,
      );
    }
  } finally {
    errorLines.push(...daemon.errors.lines);
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { reports, store, errorLines };
}

export async function run(options: BenchOptions, overrides: Partial<FuzzSettings> = {}): Promise<BenchReport> {
  const settings: FuzzSettings = {
    cases: overrides.cases ?? fuzzCases(options.quick ? QUICK_CASES : FULL_CASES),
    seed: overrides.seed ?? fuzzSeed(),
    concurrency: overrides.concurrency ?? (options.quick ? 1 : 2),
    quick: options.quick,
  };
  console.log(
    `  fuzz: BGTASKS_FUZZ_SEED=${settings.seed}, ${settings.cases} cases per ` +
      `surface, ${settings.concurrency} at a time`,
  );
  const { reports, store, errorLines } = await fuzzAll(settings);
  const rows = reports.map((report, index) => ({
    surface: report.surface,
    cases: report.cases,
    'daemon crashes': report.crashes,
    hangs: report.hangs,
    'errors answered': report.errorsAnswered,
    taken: report.accepted,
    'internal errors': report.internalErrors + report.errorsWithoutCode,
    'schema disagreements': report.mismatches,
    'health problems': `${report.healthProblems} in ${report.healthChecks} checks`,
    store: store[index] ?? 'not checked',
    'cases/s': Math.round(report.cases / Math.max(report.durationMs / 1000, 0.001)),
    'p99 ms': Math.round(report.p99CaseMs),
  }));
  const total = (key: keyof SurfaceReport): number => reports.reduce((sum, report) => sum + Number(report[key]), 0);
  const results = {
    seed: settings.seed,
    casesPerSurface: settings.cases,
    concurrency: settings.concurrency,
    reports,
    store,
    daemonErrorLines: errorLines.slice(0, 50),
  };
  const out = join(ROOT, 'bench', 'results', settings.quick ? 'fuzz-quick.json' : 'fuzz.json');
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify({ startedAt: new Date().toISOString(), ...results }, null, 2)}\n`);
  return {
    name: 'Fuzzing the socket and the HTTP server',
    method:
      `${settings.cases.toLocaleString('en-US')} random and mutated cases per ` +
      `surface (seed ${settings.seed}, ${settings.concurrency} at a time) against ` +
      `a real daemon; health checked every ${settings.quick ? 400 : 10_000} cases ` +
      `and after each surface; JSON in ${out}`,
    columns: Object.keys(rows[0] ?? { surface: '' }),
    rows,
    results,
    targets: [
      { target: 'no daemon crash', measured: `${total('crashes')} crash(es)`, met: total('crashes') === 0 },
      {
        target: 'no hang',
        measured: `${total('hangs')} case(s) neither answered nor closed`,
        met: total('hangs') === 0,
      },
      {
        target: 'every refusal has a code, none is an internal error',
        measured:
          `${total('internalErrors')} internal, ${total('errorsWithoutCode')} without ` +
          `a code, ${errorLines.length} error line(s) logged`,
        met: total('internalErrors') + total('errorsWithoutCode') + errorLines.length === 0,
      },
      {
        target: 'the daemon does what the schemas say',
        measured: `${total('mismatches')} disagreement(s)`,
        met: total('mismatches') === 0,
      },
      {
        target: 'the store whole, the legitimate task intact',
        measured:
          `${total('healthProblems')} health problem(s); store ` +
          `${store.every((verdict) => verdict === 'ok') ? 'ok' : store.join('; ')}`,
        met: total('healthProblems') === 0 && store.every((verdict) => verdict === 'ok'),
      },
    ],
  };
}

/** `node --import tsx bench/fuzz.ts --cases N`: this benchmark alone, with its own options. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cases: { type: 'string' },
      seed: { type: 'string' },
      concurrency: { type: 'string' },
      quick: { type: 'boolean', default: false },
    },
  });
  const number = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined) return undefined;
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < (name === 'seed' ? 0 : 1))
      throw new TypeError(`--${name} must be a whole number, got ${value}`);
    return parsed;
  };
  const cases = number(values.cases, 'cases');
  const seed = number(values.seed, 'seed');
  const concurrency = number(values.concurrency, 'concurrency');
  const overrides: Partial<FuzzSettings> = {
    ...(cases === undefined ? {} : { cases }),
    ...(seed === undefined ? {} : { seed }),
    ...(concurrency === undefined ? {} : { concurrency }),
  };
  const report = await run({ quick: values.quick }, overrides);
  console.log(`\n## ${report.name}\n${report.method}\n\n${table(report.columns, report.rows)}\n`);
  for (const target of report.targets)
    console.log(`  ${target.met ? 'met   ' : 'MISSED'}  ${target.target}: ${target.measured}`);
  if (report.targets.some((target) => !target.met)) process.exitCode = 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
