/** `bgtasks run APP IDENTIFIER`: start a task now, bypassing policy. */
import { InvalidArgumentError, type Command } from 'commander';
import { appId, identifier } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines } from '../format.js';

function kind(value: string): 'refresh' | 'processing' {
  if (value !== 'refresh' && value !== 'processing') {
    throw new InvalidArgumentError('must be "refresh" or "processing"');
  }
  return value;
}

export function addRunCommand(program: Command): void {
  program
    .command('run')
    .argument('<app>', 'app id', appId)
    .argument('<identifier>', 'task identifier', identifier)
    .description(
      'start a task now, bypassing policy (like _simulateLaunchForTaskWithIdentifier): its pending request, else ' +
        'one of the kind it last ran as',
    )
    .option(
      '--kind <kind>',
      'refresh or processing, when nothing is pending and the identifier never ran (it must agree with its pending ' +
        'request or its last run)',
      kind,
    )
    .option('--json', 'print JSON')
    .action((app: string, task: string, options: { kind?: 'refresh' | 'processing' }, command: Command) =>
      callAndPrint(
        command,
        'run',
        { appId: app, identifier: task, ...(options.kind ? { kind: options.kind } : {}) },
        keyValueLines,
      ),
    );
}
