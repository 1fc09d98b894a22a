/**
 * `bgtasks stop`: stops the running daemon cleanly through its control socket (as SIGTERM would: its
 * apps are stopped, what is queued is committed, the store is closed), and waits until its process has
 * exited. No daemon: a clear message and exit 3.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { socketOf } from '../controlAction.js';
import { CliError, ControlClient } from '../controlClient.js';

const DEFAULT_TIMEOUT_MS = 60_000;
const POLL_MS = 50;

export interface StopResult {
  readonly stopped: boolean;
  readonly pid: number;
  readonly socket: string;
}

function timeoutMs(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new InvalidArgumentError(`expected a whole number of ms >= 1, got "${value}"`);
  return parsed;
}

export function addStopCommand(program: Command): void {
  program
    .command('stop')
    .description(
      'stop the running daemon cleanly (its apps, its queue, its store) and wait ' +
        'until it has exited; under a service, `bgtasks service stop`',
    )
    .option('--timeout <ms>', 'how long to wait for it to exit', timeoutMs, DEFAULT_TIMEOUT_MS)
    .option('--json', 'print JSON')
    .action(async (options: { timeout: number; json?: boolean }, command: Command) => {
      const result = await stopDaemon(socketOf(command), options.timeout);
      process.stdout.write(
        options.json ? `${JSON.stringify(result)}\n` : `stopped the bgtasks daemon (pid ${result.pid})\n`,
      );
    });
}

export async function stopDaemon(socket: string, timeout: number): Promise<StopResult> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(socket);
  } catch (error) {
    if (error instanceof CliError && error.code === 'daemonNotRunning') {
      throw new CliError('daemonNotRunning', `no bgtasks daemon is running at ${socket}: nothing to stop`);
    }
    throw error;
  }
  let pid: number;
  try {
    ({ pid } = await client.call('stop', {}));
    await client.closed();
  } finally {
    client.close();
  }
  const deadline = Date.now() + timeout;
  while (alive(pid)) {
    if (Date.now() > deadline)
      throw new CliError(
        'stopTimedOut',
        `the daemon (pid ${pid}) is still stopping after ${timeout} ms; it finishes its apps' grace periods first`,
      );
    await sleep(POLL_MS);
  }
  return { stopped: true, pid, socket };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
