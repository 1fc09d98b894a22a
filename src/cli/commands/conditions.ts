/** `bgtasks conditions`: the device conditions; `set` and `reset` override them for testing, `record` traces them. */
import type { Command } from 'commander';
import type { ConditionsResult } from '../../protocol/control/index.js';
import { callAndPrint } from '../controlAction.js';
import { table } from '../format.js';
import { runRecordCommand, type RecordCommandOptions } from '../recordCommand.js';

export function addConditionsCommand(program: Command): void {
  const conditions = program
    .command('conditions')
    .description('show the device conditions (and override them for testing)')
    .option('--json', 'print JSON');
  conditions.action((_options: unknown, command: Command) => callAndPrint(command, 'conditions', {}, renderConditions));
  conditions
    .command('set')
    .argument('<assignment...>', 'e.g. power=battery network=offline batteryLevel=15')
    .description('override conditions until `conditions reset`')
    .option('--json', 'print JSON')
    .action((assignments: string[], _options: unknown, command: Command) =>
      callAndPrint(command, 'conditions.set', { assignments }, renderConditions),
    );
  conditions
    .command('reset')
    .description('remove every override: back to the real sensors')
    .option('--json', 'print JSON')
    .action((_options: unknown, command: Command) => callAndPrint(command, 'conditions.reset', {}, renderConditions));
  conditions
    .command('record')
    .description(
      "record this machine's conditions (a sample at the start, one per change) into a trace for what-if runs in " +
        'tests; no daemon needed (docs/traces.md)',
    )
    .requiredOption('--out <file>', 'the trace file (rewritten atomically after each change)')
    .option('--duration <time>', 'stop after 24h, 90m, 3600s, 1500ms or a number of ms (default: until Ctrl-C)')
    .option('--interval <ms>', 'ms between sensor reads, at least 100 (default: 5000)')
    .option('--hostname', "store this machine's hostname in the trace (left out by default)")
    .option('--json', 'print only the summary, as JSON')
    .action((_options: unknown, command: Command) => runRecordCommand(command.optsWithGlobals<RecordCommandOptions>()));
}

function renderConditions(snapshot: ConditionsResult): string {
  const origins: Readonly<Record<string, unknown>> = snapshot.origins;
  const rows = Object.entries(snapshot.conditions).map(([name, value]) => ({
    condition: name,
    value,
    source: origins[name],
  }));
  return table(rows, ['condition', 'value', 'source']);
}
