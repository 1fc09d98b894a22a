/** `bgtasks push APP --data JSON`: a background push, as a server would send it. */
import { InvalidArgumentError, type Command } from 'commander';
import type { PushStored } from '../../protocol/control/index.js';
import { appId, whole } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';

function json(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InvalidArgumentError(`must be JSON, e.g. '{"mailbox":"inbox"}' (${reason})`);
  }
}

function priority(value: string): 5 | 10 {
  if (value !== '5' && value !== '10') throw new InvalidArgumentError('must be 10 (now) or 5 (when convenient)');
  return Number(value) as 5 | 10;
}

interface PushOptions {
  readonly data: unknown;
  readonly priority?: 5 | 10;
  readonly collapseId?: string;
  readonly expiration?: number;
}

export function addPushCommand(program: Command): void {
  program
    .command('push')
    .argument('<app>', 'app id', appId)
    .requiredOption('--data <json>', "the JSON to hand the app's onRemoteNotification handler (at most 4 KB)", json)
    .option(
      '--priority <n>',
      '10: now, unless the user force-quit the app; 5: when convenient, within its budget',
      priority,
    )
    .option('--collapse-id <id>', 'a newer push with this id replaces one not yet delivered')
    .option(
      '--expiration <seconds>',
      'seconds since the epoch after which it is not delivered (0: now or never)',
      whole,
    )
    .description('send a background push to an app, as a server would with POST /v1/apps/APP/push')
    .option('--json', 'print JSON')
    .action((app: string, options: PushOptions, command: Command) => {
      const args = {
        appId: app,
        data: options.data,
        ...(options.priority ? { priority: options.priority } : {}),
        ...(options.collapseId !== undefined ? { collapseId: options.collapseId } : {}),
        ...(options.expiration !== undefined ? { expiration: options.expiration } : {}),
      };
      return callAndPrint(command, 'push', args, renderReceipt);
    });
}

function renderReceipt(receipt: PushStored): string {
  const collapsed = receipt.collapsed
    ? `; it replaced ${receipt.collapsed} (${receipt.collapsedCount} collapsed in all)`
    : '';
  return `push ${receipt.id} stored for ${receipt.appId} (number ${receipt.seq})${collapsed}`;
}
