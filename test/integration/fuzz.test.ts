import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestHome, type DaemonProcess } from '../support/daemonProcess.js';
import {
  ErrorLog,
  SURFACES,
  fuzzCases,
  fuzzSeed,
  fuzzSurface,
  healthProblems,
  prepareFuzz,
  type FuzzContext,
  type FuzzTarget,
} from '../support/fuzz.js';

/**
 * The daemon's boundaries under random and mutated input, against a real daemon on a temporary home:
 * first frames of unauthenticated connections, an authenticated app session, control connections, the
 * push route (right and wrong tokens) and the dashboard API. A bounded sample (BGTASKS_FUZZ_CASES per
 * surface, 2,000 by default; bench/fuzz.ts is the long run); the seed is printed, and
 * BGTASKS_FUZZ_SEED replays it. During and after each surface: the daemon runs, answers a control
 * `status` and a valid app request, the legitimate task submitted before the fuzz is pending and
 * unchanged, `PRAGMA integrity_check` is ok, and no app but the installed ones has a row anywhere.
 */
const CASES = fuzzCases(2000);
const SEED = fuzzSeed();
/**
 * At most one background launch of the fuzzed app (a mutated submit can make a request due while no
 * session is connected): the fuzz is about the boundaries, not about running the probe app.
 */
const DAEMON_OPTIONS = [
  '--option',
  'backgroundLaunchesPerDay=1',
  '--option',
  'usageBonus=false',
  '--option',
  'maxBackgroundProcesses=1',
];

describe(`fuzzing the socket and the HTTP server (BGTASKS_FUZZ_SEED=${SEED}, ${CASES} cases per surface)`, () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let context: FuzzContext;
  const target: FuzzTarget = { alive: () => daemon.child.exitCode === null && daemon.child.signalCode === null };

  const errors = new ErrorLog();
  /**
   * DaemonProcess keeps all of the daemon's output in one string and searches it at every chunk: over the
   * fuzz's ten thousand connection warnings that is quadratic. Once started, its output is read here,
   * keeping only the error lines.
   */
  const start = async (): Promise<DaemonProcess> => {
    const started = await home.startDaemon(DAEMON_OPTIONS);
    errors.take(started.child.stdout!);
    errors.take(started.child.stderr!);
    return started;
  };

  before(async () => {
    console.log(`# fuzz: BGTASKS_FUZZ_SEED=${SEED} BGTASKS_FUZZ_CASES=${CASES}`);
    daemon = await start();
    context = await prepareFuzz(home.home, SEED);
  });

  after(async () => {
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  for (const surface of SURFACES) {
    it(
      `${surface}: no crash, no hang, every refusal with a code, nothing the ` +
        `schemas refuse is taken, the store whole`,
      async () => {
        const report = await fuzzSurface(surface, context, target, {
          cases: CASES,
          healthEvery: 500,
          stopOnFailure: true,
          concurrency: 1,
        });
        console.log(
          `# ${surface}: ${report.cases} cases, ${report.errorsAnswered} refused with ` +
            `a code, ${report.accepted} taken, ${report.healthChecks} health checks, ` +
            `${(report.durationMs / 1000).toFixed(1)} s`,
        );
        assert.deepEqual(report.failures, [], `replay with BGTASKS_FUZZ_SEED=${SEED}`);
        assert.equal(report.cases, CASES);
        assert.equal(
          report.crashes +
            report.hangs +
            report.internalErrors +
            report.errorsWithoutCode +
            report.mismatches +
            report.healthProblems,
          0,
        );
        assert.ok(report.healthChecks >= 1);
        if (CASES >= 500) {
          // The cases reached past the first check: some were refused with a code, some taken.
          assert.ok(report.errorsAnswered > 0, `${surface}: nothing was refused`);
          assert.ok(report.accepted > 0, `${surface}: nothing was taken`);
        }
      },
    );
  }

  it('logged no error, and a restarted daemon loads the store with the legitimate task intact', async () => {
    assert.deepEqual(errors.lines, []);
    await daemon.kill('SIGTERM');
    daemon = await start();
    assert.deepEqual(await healthProblems(context, target), []);
  });
});
