import { firstLine, shellLine, type CommandResult, type CommandRunner } from './commandRunner.js';
import { ServiceError } from './serviceErrors.js';

/** What the service manager says about the service, for `status`. Unknown parts are null. */
export interface ManagerState {
  /** Whether the manager answered at all (no systemd user manager, no launchd GUI session: false). */
  readonly available: boolean;
  /** Why it did not answer, in its words; null when it did. */
  readonly detail: string | null;
  /** systemd's UnitFileState (`enabled`, `disabled`, …); launchd: `enabled` or `disabled`. */
  readonly enabled: string | null;
  /**
   * systemd's ActiveState (`active`, `failed`, `activating`, `inactive`); launchd: `running`, `not running` or `not
   * loaded`.
   */
  readonly active: string | null;
  readonly mainPid: number | null;
  /** How often the manager restarted it since it was loaded (systemd NRestarts; launchd runs - 1). */
  readonly restarts: number | null;
  /** When it became active (systemd); null elsewhere. */
  readonly activeSince: string | null;
  /** The last exit as the manager reports it (launchd `last exit code`, systemd `Result`). */
  readonly lastExit: string | null;
}

export interface Availability {
  readonly available: boolean;
  readonly detail: string;
}

export interface ActivateOptions {
  /** Start it now (else only at the next login or boot). */
  readonly start: boolean;
  /** The file changed: a running service is restarted to take the new definition (after an upgrade). */
  readonly changed: boolean;
}

/** `bgtasks service start | stop | restart`. */
export type LifecycleAction = 'start' | 'stop' | 'restart';

/** The system calls of one service manager (systemd or launchd), behind the runner. */
export interface ServiceController {
  readonly manager: 'systemd' | 'launchd';
  /** Whether the manager can be reached now. */
  probe(): Promise<Availability>;
  /** What `activate` would run, for a person to run later when the manager is not reachable now. */
  activationCommands(file: string, options: ActivateOptions): string[][];
  /** Makes the written file take effect: enabled at login/boot, and started now when `start`. */
  activate(file: string, options: ActivateOptions): Promise<void>;
  /** Stops and disables the service, before its file is removed. */
  deactivate(file: string): Promise<void>;
  /** Tells the manager the file is gone. */
  afterRemoval(): Promise<void>;
  state(): Promise<ManagerState>;
  /** Starts, stops or restarts the installed service now; returns the commands it ran. */
  lifecycle(action: LifecycleAction, file: string): Promise<string[][]>;
}

/** Runs each command in turn; the first failure is a `serviceCommandFailed` naming the command. */
export async function runAll(runner: CommandRunner, commands: readonly (readonly string[])[]): Promise<void> {
  for (const [command, ...args] of commands) {
    const result = await runner.run(command!, args);
    if (result.code !== 0) throw commandFailed([command!, ...args], result);
  }
}

export function commandFailed(argv: readonly string[], result: CommandResult): ServiceError {
  return new ServiceError('serviceCommandFailed', `\`${shellLine(argv)}\` failed: ${firstLine(result)}`);
}
