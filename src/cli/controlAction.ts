/** How a `bgtasks` command talks to the daemon: one control connection per command, and its result printed. */
import type { Command } from 'commander';
import type { ControlArgs, ControlResult, HandledControlName } from '../protocol/control/index.js';
import { homePaths } from '../shared/paths.js';
import { commandHome, type GlobalOptions } from './commandHome.js';
import { ControlClient } from './controlClient.js';

/** The global options (`--home`, `--config`), from the root of the command tree. */
export function globalOptions(command: Command): GlobalOptions {
  let root = command;
  while (root.parent) root = root.parent;
  return root.opts<GlobalOptions>();
}

/** The daemon's socket for the home the command names. */
export function socketOf(command: Command): string {
  return homePaths(commandHome(globalOptions(command))).socket;
}

export async function withClient<T>(command: Command, work: (client: ControlClient) => Promise<T>): Promise<T> {
  const client = await ControlClient.connect(socketOf(command));
  try {
    return await work(client);
  } finally {
    client.close();
  }
}

/**
 * Sends one control command and prints its result: with `--json` (given to the command or to its parent,
 * as in `conditions --json set ...`) the result as JSON, else the text `render` makes for people.
 */
export async function callAndPrint<N extends HandledControlName>(
  command: Command,
  name: N,
  args: ControlArgs<N>,
  render: (result: ControlResult<N>) => string,
): Promise<void> {
  const { json } = command.optsWithGlobals<{ json?: boolean }>();
  const result = await withClient(command, (client) => client.call(name, args));
  process.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : `${render(result)}\n`);
}
