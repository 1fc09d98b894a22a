/**
 * Timing accuracy, on a real daemon (profile server) and real app processes:
 *
 * (a) Start lateness: N refresh and processing tasks (alternating) due evenly spread over a window, the
 *     app connected (timingApp.mjs, forked); per task, handler start − earliestBeginDate, as the app sees
 *     it (Date.now()); and the daemon's share from its store (dispatched − earliestBeginDate).
 * (b) Expiration lateness: refresh tasks with a small `refreshTimeLimitMs` whose handler waits for the
 *     expiration; when the expirationHandler runs − task.deadline, in the app.
 * (c) Kill lateness: tasks of an app the daemon launched in the background (timingKillApp.mjs) whose
 *     handler ignores the expiration, so the daemon kills it `expirationGraceMs` after expiring it. From
 *     the outside: the app holds a Unix socket to this process, which the kernel closes when the process
 *     dies; lateness = that moment − (expiredAt + grace). From the store: completedAt − expiredAt − grace.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type BetterSqlite3 from 'better-sqlite3';
import { percentile, type BenchOptions, type BenchReport, type TargetCheck } from './support/report.js';
import { APP_ID, ROOT, startSystem, until, type BenchSystem } from './support/system.js';

const TIMING_APP = join(import.meta.dirname, 'support', 'timingApp.mjs');
const KILL_APP = join(import.meta.dirname, 'support', 'timingKillApp.mjs');
const SUBMIT = join(import.meta.dirname, 'support', 'launchSubmit.mjs');
const exec = promisify(execFile);
const Database = createRequire(join(ROOT, 'package.json'))('better-sqlite3') as typeof BetterSqlite3;

const REFRESH_LIMIT_MS = 300;
const GRACE_MS = 200;
const START_TARGET_MS = 10;
const EXPIRY_TARGET_MS = 10;
const KILL_TARGET_MS = 100;

interface Plan {
  readonly tasks: number;
  readonly windowMs: number;
  readonly leadMs: number;
  readonly expirySamples: number;
  readonly expirySpacingMs: number;
  readonly killSamples: number;
  readonly killSpacingMs: number;
}

const plans: Record<'quick' | 'full', Plan> = {
  quick: {
    tasks: 1_000,
    windowMs: 10_000,
    leadMs: 2_000,
    expirySamples: 20,
    expirySpacingMs: 50,
    killSamples: 8,
    killSpacingMs: 1_500,
  },
  full: {
    tasks: 10_000,
    windowMs: 60_000,
    leadMs: 3_000,
    expirySamples: 200,
    expirySpacingMs: 50,
    killSamples: 40,
    killSpacingMs: 1_500,
  },
};

/** The connected app, forked with IPC like the bench app. */
interface TimingApp {
  readonly child: ChildProcess;
  /** Resolves with the first message `op`, rejects on an 'error' message, an exit, or after `guardMs`. */
  next<T>(op: string, guardMs: number): Promise<T>;
}

function forkTimingApp(system: BenchSystem): Promise<TimingApp> {
  const child = fork(TIMING_APP, [], {
    execArgv: [],
    cwd: join(dirname(system.home), 'app'),
    env: { ...process.env, BGTASKS_HOME: system.home, BGTASKS_APP_ID: APP_ID },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(op: string, guardMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`timingApp.mjs sent no '${op}' within ${guardMs} ms`)), guardMs);
      const onMessage = (message: { op: string; message?: string }): void => {
        if (message.op === 'error') done(new Error(message.message));
        else if (message.op === op) done(null, message as T);
      };
      const onExit = (code: number | null): void =>
        done(new Error(`timingApp.mjs exited (${code}) while waiting for '${op}'`));
      function done(error: Error | null, value?: T): void {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        if (error) reject(error);
        else resolve(value!);
      }
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const app: TimingApp = { child, next };
  return app.next('ready', 30_000).then(
    () => app,
    (error: unknown) => {
      child.kill('SIGKILL');
      throw error;
    },
  );
}

interface Stats {
  readonly samples: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const stats = (values: readonly number[]): Stats => ({
  samples: values.length,
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length ? Math.max(...values) : NaN,
});

interface ConnectedResult {
  readonly startLateness: number[];
  readonly dispatchLateness: number[];
  readonly startSubmitMs: number;
  readonly startLeadLeftMs: number;
  readonly expiryLateness: number[];
}

/** (a) and (b), on one daemon, with the app connected (a person's process: not throttled, not launched). */
async function connected(plan: Plan): Promise<ConnectedResult> {
  await using system = await startSystem({
    profile: 'server',
    maxConcurrentTasks: 50,
    maxConcurrentTasksPerApp: 50,
    maxPendingProcessingPerApp: plan.tasks,
    refreshTimeLimitMs: REFRESH_LIMIT_MS,
    throttleMs: 0,
  });
  const app = await forkTimingApp(system);
  try {
    // (a) Start lateness: every listener is in place before the request goes.
    const started = app.next<{ lateness: number[] }>('started', plan.leadMs + plan.windowMs + 120_000);
    const scheduled = app.next<{ t0: number; submitMs: number; submittedAt: number }>('scheduled', 120_000);
    started.catch(() => undefined); // awaited below; if the submission fails first, its rejection is not unhandled
    app.child.send({ op: 'schedule', n: plan.tasks, windowMs: plan.windowMs, leadMs: plan.leadMs });
    const submission = await scheduled;
    const { lateness: startLateness } = await started;
    // The daemon's share, from its store, once every run is recorded as finished.
    await until(() => system.finishedRuns() >= plan.tasks, 20, 60_000);
    const store = new Database(join(system.home, 'store.sqlite'), { readonly: true, fileMustExist: true });
    let dispatchLateness: number[];
    try {
      dispatchLateness = store
        .prepare<[], { late: number }>(
          `SELECT eligible_at - earliest_begin_at AS late FROM runs WHERE identifier ` +
            `LIKE 'bench.app.job.t.%' AND eligible_at IS NOT NULL`,
        )
        .all()
        .map((row) => row.late);
    } finally {
      store.close();
    }

    // (b) Expiration lateness.
    const expired = app.next<{ lateness: number[] }>(
      'expired',
      1_000 + plan.expirySamples * plan.expirySpacingMs + REFRESH_LIMIT_MS + 60_000,
    );
    const expiryScheduled = app.next('scheduled', 60_000);
    expired.catch(() => undefined);
    app.child.send({ op: 'expiry', n: plan.expirySamples, spacingMs: plan.expirySpacingMs, leadMs: 1_000 });
    await expiryScheduled;
    const { lateness: expiryLateness } = await expired;
    return {
      startLateness,
      dispatchLateness,
      startSubmitMs: submission.submitMs,
      startLeadLeftMs: submission.t0 - submission.submittedAt,
      expiryLateness,
    };
  } finally {
    app.child.kill('SIGKILL');
  }
}

/** What one killed process told the observer, and when its connection closed (it died). */
interface Observed {
  pid: number | null;
  readonly starts: { identifier: string; at: number; deadline: number | null }[];
  readonly expirations: { identifier: string; at: number }[];
  closedAt: number | null;
}

function observe(server: Server, observed: Observed[], sockets: Set<Socket>): void {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    const entry: Observed = { pid: null, starts: [], expirations: [], closedAt: null };
    observed.push(entry);
    let buffer = '';
    const closed = (): void => {
      entry.closedAt ??= Date.now();
    };
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as {
          event: string;
          identifier?: string;
          pid: number;
          at: number;
          deadline?: number | null;
        };
        buffer = buffer.slice(newline + 1);
        entry.pid = line.pid;
        if (line.event === 'start')
          entry.starts.push({ identifier: line.identifier!, at: line.at, deadline: line.deadline ?? null });
        if (line.event === 'expired') entry.expirations.push({ identifier: line.identifier!, at: line.at });
      }
    });
    socket.once('end', closed);
    socket.once('close', closed);
    socket.on('error', closed);
  });
}

interface KillSample {
  readonly identifier: string;
  /** death seen from outside − (expiredAt + grace) */
  readonly outsideMs: number;
  /** completedAt − expiredAt − grace, the daemon's own record */
  readonly storeMs: number;
  /** death − (deadline + grace): expiration and kill together */
  readonly fromDeadlineMs: number;
  /** expiredAt − deadline, the daemon's own record */
  readonly expiredLateMs: number;
}

/** (c) Kill lateness, on a daemon that launches the app in the background for each task. */
async function kills(plan: Plan): Promise<{ samples: KillSample[]; discarded: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-bench-timing-'));
  const socketPath = join(dir, 'observer.sock');
  const server = createServer();
  const observed: Observed[] = [];
  const sockets = new Set<Socket>();
  observe(server, observed, sockets);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  try {
    // The daemon passes its environment to the apps it launches: that is how the app finds the socket.
    const previous = process.env.BENCH_TIMING_SOCKET;
    process.env.BENCH_TIMING_SOCKET = socketPath;
    let system: BenchSystem;
    try {
      system = await startSystem(
        {
          profile: 'server',
          refreshTimeLimitMs: REFRESH_LIMIT_MS,
          expirationGraceMs: GRACE_MS,
          throttleMs: 0,
          throttleMaxMs: 0,
        },
        [process.execPath, KILL_APP],
      );
    } finally {
      if (previous === undefined) delete process.env.BENCH_TIMING_SOCKET;
      else process.env.BENCH_TIMING_SOCKET = previous;
    }
    await using _system = system;
    // One request per launch: spaced wider than a launch, the time limit and the grace period together.
    const { stdout } = await exec(
      process.execPath,
      [SUBMIT, 'bench.app.job.kill', String(plan.killSamples), String(plan.killSpacingMs), String(plan.killSpacingMs)],
      {
        cwd: join(dirname(system.home), 'app'),
        env: { ...process.env, BGTASKS_HOME: system.home, BGTASKS_APP_ID: APP_ID },
      },
    );
    const { submitted } = JSON.parse(stdout) as { submitted: { identifier: string; earliest: number }[] };
    const store = new Database(join(system.home, 'store.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const finished = store.prepare<[], { n: number }>(
        `SELECT COUNT(*) AS n FROM runs WHERE identifier LIKE 'bench.app.job.kill.%' ` + `AND state = 'finished'`,
      );
      const last = submitted.at(-1)!.earliest;
      await until(
        () => finished.get()!.n >= submitted.length && observed.every((entry) => entry.closedAt !== null),
        20,
        Math.max(0, last - Date.now()) + 60_000,
      );
      const runOf = store.prepare<
        [string],
        { deadline_at: number | null; expired_at: number | null; completed_at: number | null; outcome: string | null }
      >(
        `SELECT deadline_at, expired_at, completed_at, outcome FROM runs WHERE ` +
          `identifier = ? ORDER BY seq DESC LIMIT 1`,
      );
      const samples: KillSample[] = [];
      const discarded: string[] = [];
      for (const { identifier } of submitted) {
        const run = runOf.get(identifier);
        const owner = observed.find((entry) => entry.starts.some((start) => start.identifier === identifier));
        if (
          !run ||
          run.outcome !== 'terminatedAfterExpiration' ||
          run.expired_at === null ||
          run.completed_at === null ||
          run.deadline_at === null
        ) {
          discarded.push(`${identifier}: outcome ${run?.outcome ?? 'none'}`);
        } else if (!owner || owner.starts.length !== 1 || owner.closedAt === null) {
          discarded.push(
            `${identifier}: ${owner ? `its process ran ${owner.starts.length} tasks` : 'no process reported it'}`,
          );
        } else {
          samples.push({
            identifier,
            outsideMs: owner.closedAt - (run.expired_at + GRACE_MS),
            storeMs: run.completed_at - run.expired_at - GRACE_MS,
            fromDeadlineMs: owner.closedAt - (run.deadline_at + GRACE_MS),
            expiredLateMs: run.expired_at - run.deadline_at,
          });
        }
      }
      return { samples, discarded };
    } finally {
      store.close();
    }
  } finally {
    // After a failure an app may still hold its connection: the server closes only when none is left.
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const plan = plans[options.quick ? 'quick' : 'full'];
  const a = await connected(plan);
  const c = await kills(plan);
  const start = stats(a.startLateness);
  const dispatch = stats(a.dispatchLateness);
  const expiry = stats(a.expiryLateness);
  const killOutside = stats(c.samples.map((sample) => sample.outsideMs));
  const killStore = stats(c.samples.map((sample) => sample.storeMs));
  const killFromDeadline = stats(c.samples.map((sample) => sample.fromDeadlineMs));
  const expiredLate = stats(c.samples.map((sample) => sample.expiredLateMs));
  const row = (measure: string, s: Stats): Record<string, string | number> => ({
    measure,
    samples: s.samples,
    'p50 ms': s.p50,
    'p99 ms': s.p99,
    'max ms': s.max,
  });
  const rate = Math.round((plan.tasks / plan.windowMs) * 1000);
  const targets: TargetCheck[] = [
    {
      target:
        `start lateness p99 < ${START_TARGET_MS} ms ` +
        `(${plan.tasks.toLocaleString('en-US')} tasks due within ` +
        `${plan.windowMs / 1000} s)`,
      measured:
        `p50 ${start.p50} ms, p99 ${start.p99} ms, max ${start.max} ms after ` +
        `earliestBeginDate, at the handler (the daemon's dispatch: p99 ` +
        `${dispatch.p99} ms)${a.startLeadLeftMs < 0 ? `; the submission ended ${-a.startLeadLeftMs} ms after the first task was ` + `due, so the first ones were late for that` : ''}`,
      met: start.samples === plan.tasks && start.p99 < START_TARGET_MS,
    },
    {
      target: `expiration handler within ${EXPIRY_TARGET_MS} ms of task.deadline (p99)`,
      measured:
        `p50 ${expiry.p50} ms, p99 ${expiry.p99} ms, max ${expiry.max} ms after the ` +
        `deadline (${expiry.samples} tasks)`,
      met: expiry.samples === plan.expirySamples && expiry.p99 <= EXPIRY_TARGET_MS,
    },
    {
      target: `killed within ${KILL_TARGET_MS} ms of the grace period's end (every sample)`,
      measured: c.samples.length
        ? `process death seen from outside: p50 ${killOutside.p50} ms, max ` +
          `${killOutside.max} ms after expiredAt + ${GRACE_MS} ms (store: max ` +
          `${killStore.max} ms; ${c.samples.length} of ${plan.killSamples} samples ` +
          `usable)`
        : `no usable sample (${c.discarded.join('; ')})`,
      met: c.samples.length > 0 && killOutside.max <= KILL_TARGET_MS,
    },
  ];
  return {
    name: 'Timing accuracy',
    method:
      `real daemon (server profile), ${plan.tasks} refresh+processing tasks due ` +
      `evenly over ${plan.windowMs / 1000} s (${rate}/s) to a connected app: ` +
      `handler start − earliestBeginDate; ${plan.expirySamples} refresh tasks with ` +
      `refreshTimeLimitMs=${REFRESH_LIMIT_MS}: expirationHandler − deadline; ` +
      `${plan.killSamples} background-launched apps ignoring expiration, ` +
      `expirationGraceMs=${GRACE_MS}: process death (its socket closing) − ` +
      `(expiredAt + grace)`,
    columns: ['measure', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
    rows: [
      row('(a) start: handler start − earliestBeginDate', start),
      row('(a)   of which the daemon: dispatched − earliest', dispatch),
      row('(b) expirationHandler − task.deadline', expiry),
      row('(c) kill: death − (expiredAt + grace), outside', killOutside),
      row('(c) kill: completedAt − (expiredAt + grace), store', killStore),
      row('(c) death − (deadline + grace), outside', killFromDeadline),
      row('(c)   of which expiredAt − deadline, store', expiredLate),
    ],
    results: {
      plan,
      refreshTimeLimitMs: REFRESH_LIMIT_MS,
      expirationGraceMs: GRACE_MS,
      start: { ...start, submitMs: a.startSubmitMs, leadLeftMs: a.startLeadLeftMs, lateness: a.startLateness },
      dispatch,
      expiry: { ...expiry, lateness: a.expiryLateness },
      kill: {
        outside: killOutside,
        store: killStore,
        fromDeadline: killFromDeadline,
        expiredLate,
        samples: c.samples,
        discarded: c.discarded,
      },
    },
    targets,
  };
}
