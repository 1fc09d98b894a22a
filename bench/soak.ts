/**
 * The soak: the daemon under sustained load for an hour (a few minutes with --quick), killed with
 * SIGKILL at random moments (every 20-90 s), while the chaos fixture app submits 250 tasks a second and
 * runs them. The figures for docs/reliability.md: kills survived, requests acknowledged, lost (0),
 * completed twice (0), handlers run without a trace (0). The 20-kill version runs in CI
 * (test/integration/chaos.test.ts); this one is run by hand: `npm run bench -- --only soak`.
 */
import { runChaos } from '../test/support/chaos.js';
import { TestHome } from '../test/support/daemonProcess.js';
import type { BenchOptions, BenchReport } from './support/report.js';

export async function run({ quick }: BenchOptions): Promise<BenchReport> {
  const durationMs = Number(process.env.BENCH_SOAK_MINUTES ?? (quick ? 1 : 60)) * 60_000;
  const home = new TestHome();
  const tasks = Math.ceil((durationMs / 100) * 25) + 1_000;
  const options = [
    '--option',
    'profile=server',
    '--option',
    `maxPendingProcessingPerApp=${tasks + 1_000}`,
    '--option',
    'maxConcurrentTasksPerApp=10',
  ];
  const started = Date.now();
  try {
    const { daemon, report } = await runChaos(
      home,
      () => home.startDaemon(options),
      {
        kills: Number.MAX_SAFE_INTEGER,
        durationMs,
        tasks,
        paceMs: 100,
        workMs: 10,
        minGapMs: quick ? 5_000 : 20_000,
        maxGapMs: quick ? 15_000 : 90_000,
        settleGuardMs: 600_000,
      },
      (kill) => process.stdout.write(`  kill ${kill} at ${((Date.now() - started) / 60_000).toFixed(1)} min\n`),
    );
    await daemon[Symbol.asyncDispose]();
    const failures =
      report.integrityFailures.length +
      report.missingAfterKill.length +
      report.lost.length +
      report.succeededTwice.length +
      report.untraced.length +
      report.interruptedNotRerun.length +
      report.otherOutcomes.length +
      report.unexplainedRepeats.length;
    return {
      name: 'soak',
      method:
        `${(durationMs / 60_000).toFixed(0)} min: 25 processing tasks submitted ` +
        `every 100 ms (handlers under 10 ms, 10 at a time), the daemon killed with ` +
        `SIGKILL every 20-90 s (5-15 s with --quick); then every promise of ` +
        `docs/reliability.md checked`,
      columns: [
        'minutes',
        'kills',
        'kills that cut running tasks',
        'acknowledged',
        'runs',
        'interrupted',
        'handler repeats',
        'lost',
        'completed twice',
        'untraced',
        'integrity failures',
      ],
      rows: [
        {
          minutes: Math.round((Date.now() - started) / 60_000),
          kills: report.kills,
          'kills that cut running tasks': report.killsThatCut,
          acknowledged: report.acknowledged,
          runs: report.runs,
          interrupted: report.interrupted,
          'handler repeats': report.handlerRepeats,
          lost: report.lost.length,
          'completed twice': report.succeededTwice.length,
          untraced: report.untraced.length,
          'integrity failures': report.integrityFailures.length,
        },
      ],
      results: { ...report, lost: report.lost.slice(0, 100), untraced: report.untraced.slice(0, 100) },
      targets: [
        {
          target: 'no acknowledged request lost, none completed twice, no handler without a ' + 'trace, store intact',
          measured: failures === 0 ? 'none' : `${failures} violations (see the JSON)`,
          met: failures === 0,
        },
      ],
    };
  } finally {
    home.cleanup();
  }
}
