/** `bgtasks top`: a live view of running tasks, the queue, what holds pending requests, and recent runs. */
import type { Command } from 'commander';
import { socketOf } from '../controlAction.js';
import { parseInterval, runTop } from '../top.js';

export function addTopCommand(program: Command): void {
  program
    .command('top')
    .description(
      'a live view: running tasks with their progress, the queue, what holds pending requests, recent runs (q ' +
        'quits, c cancels the first continued task)',
    )
    .option('--once', 'print one frame (with --json, one snapshot) and exit')
    .option('--interval <ms>', 'how often to refresh while tasks run', parseInterval, 1000)
    .option('--json', 'print snapshots as JSON (one line per refresh without --once)')
    .action((options: { once?: boolean; interval: number; json?: boolean }, command: Command) =>
      runTop({
        socketPath: socketOf(command),
        once: Boolean(options.once),
        json: Boolean(options.json),
        intervalMs: options.interval,
      }),
    );
}
