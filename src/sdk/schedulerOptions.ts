import type { Discovery } from './discovery.js';
import { BGTaskSchedulerError, describeThrown } from './errors.js';
import type { DaemonLink } from './link.js';
import type { Logger } from './logger.js';

/**
 * Why the process runs: launched by the daemon for a task (`background`), by a person (`user`), or by a
 * person choosing an action on one of the app's notifications (`notificationAction`).
 */
export type LaunchReason = 'user' | 'background' | 'notificationAction';

/** How the scheduler is built, for tests and the testing kit. @internal */
export interface SchedulerOptions {
  /** Opens the link to the daemon. @default connectSocket(socketPath) */
  readonly connect?: (socketPath: string) => Promise<DaemonLink>;
  /** @default createDiscovery({ env }) */
  readonly discovery?: Discovery;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default one line per entry on stderr, warn and above unless BGTASKS_DEBUG is set */
  readonly logger?: Logger;
  /** Called on `terminate`. @default process.exit */
  readonly exit?: (code: number) => void;
  /** @default from BGTASKS_LAUNCH_REASON */
  readonly launchReason?: LaunchReason;
  /** How long to wait for the daemon's `welcome`, in milliseconds. @default 10_000 */
  readonly handshakeTimeoutMs?: number;
  /** Where {@link BGTaskScheduler.now} reads the time: the testing kit passes its virtual clock. @default Date.now */
  readonly clock?: { now(): number };
}

export function closedError(): BGTaskSchedulerError {
  return new BGTaskSchedulerError('unavailable', 'this BGTaskScheduler has been closed');
}

/** An argument, quoted for a log line; never throws. */
export function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : describeThrown(value, 200);
}

export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(describeThrown(value));
}
