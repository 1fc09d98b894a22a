/** `bgtasks check DIR`: run an app once in a dry run (no daemon) against its manifest. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { positiveInt } from '../arguments.js';
import { runCheck } from '../check.js';

export function addCheckCommand(program: Command): void {
  program
    .command('check')
    .argument('<dir>', 'the app\'s directory (with a package.json that has a "bgtasks" section)')
    .description(
      'run an app once in a dry run (no daemon) and report handlers and submissions its manifest does not match',
    )
    .option('--timeout <ms>', "how long to wait for the app's report", positiveInt, 10_000)
    .option('--json', 'print JSON')
    .action((dir: string, options: { timeout: number; json?: boolean }) =>
      runCheck(resolve(dir), { timeoutMs: options.timeout, json: Boolean(options.json) }),
    );
}
