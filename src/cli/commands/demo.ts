/** `bgtasks demo`: the daemon with the example apps installed, their tasks scheduled and run. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { globalOptions } from '../controlAction.js';
import { runDemo } from '../daemonCommands.js';

export function addDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('start the daemon with the example apps installed and show their tasks being scheduled and run')
    .option(
      '--examples <dir>',
      'the directory of example apps',
      resolve(new URL('../../../examples', import.meta.url).pathname),
    )
    .action((options: { examples: string }, command: Command) => {
      const { home, config } = globalOptions(command);
      return runDemo({
        ...(home !== undefined ? { home } : {}),
        ...(config !== undefined ? { configPath: config } : {}),
        examples: options.examples,
      });
    });
}
