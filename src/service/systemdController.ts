import { firstLine, shellLine, type CommandRunner } from './commandRunner.js';
import {
  runAll,
  type ActivateOptions,
  type Availability,
  type LifecycleAction,
  type ManagerState,
  type ServiceController,
} from './serviceController.js';
import { SYSTEMD_UNIT_NAME, type ServiceScope } from './servicePaths.js';

/** `systemctl is-system-running` states in which the manager takes commands (`offline` means none runs). */
const REACHABLE_STATES = new Set(['initializing', 'starting', 'running', 'degraded', 'maintenance', 'stopping']);

/** systemd through `systemctl` (`--user` for a user unit). */
export class SystemdController implements ServiceController {
  readonly manager = 'systemd';

  constructor(
    readonly scope: ServiceScope,
    private readonly runner: CommandRunner,
  ) {}

  #systemctl(...args: string[]): string[] {
    return ['systemctl', ...(this.scope === 'user' ? ['--user'] : []), ...args];
  }

  async probe(): Promise<Availability> {
    const [command, ...args] = this.#systemctl('is-system-running');
    const result = await this.runner.run(command!, args);
    const state = result.stdout.trim().split('\n')[0] ?? '';
    if (REACHABLE_STATES.has(state)) return { available: true, detail: state };
    if (result.code === null)
      return { available: false, detail: `systemctl cannot run: ${result.error ?? 'unknown error'}` };
    // "offline" with "Failed to connect to bus" on stderr: no systemd (user) manager runs here.
    const why = result.stderr.trim()
      ? firstLine(result)
      : `\`${shellLine([command!, ...args])}\` says "${state || 'nothing'}"`;
    return {
      available: false,
      detail:
        `${this.scope === 'user' ? 'no systemd user manager is reachable' : 'systemd does not run this machine'}; ` +
        `${why}`,
    };
  }

  activationCommands(_file: string, options: ActivateOptions): string[][] {
    // `restart` when the unit changed, not `enable --now`: after an upgrade a running daemon must pick up the new unit.
    const start = options.start ? [this.#systemctl(options.changed ? 'restart' : 'start', SYSTEMD_UNIT_NAME)] : [];
    return [this.#systemctl('daemon-reload'), this.#systemctl('enable', SYSTEMD_UNIT_NAME), ...start];
  }

  activate(file: string, options: ActivateOptions): Promise<void> {
    return runAll(this.runner, this.activationCommands(file, options));
  }

  deactivate(): Promise<void> {
    return runAll(this.runner, [this.#systemctl('disable', '--now', SYSTEMD_UNIT_NAME)]);
  }

  async afterRemoval(): Promise<void> {
    await runAll(this.runner, [this.#systemctl('daemon-reload')]);
    // Forget a failed state, so `systemctl --user list-units --failed` does not keep showing a removed unit;
    // it fails when there is nothing to forget, which is fine.
    const [command, ...args] = this.#systemctl('reset-failed', SYSTEMD_UNIT_NAME);
    await this.runner.run(command!, args);
  }

  async lifecycle(action: LifecycleAction): Promise<string[][]> {
    const commands = [this.#systemctl(action, SYSTEMD_UNIT_NAME)];
    await runAll(this.runner, commands);
    return commands;
  }

  async state(): Promise<ManagerState> {
    const [command, ...args] = this.#systemctl(
      'show',
      '--property=UnitFileState,ActiveState,SubState,MainPID,NRestarts,ActiveEnterTimestamp,Result',
      SYSTEMD_UNIT_NAME,
    );
    const result = await this.runner.run(command!, args);
    if (result.code !== 0) {
      const probe = await this.probe();
      return {
        available: false,
        detail: probe.available ? firstLine(result) : probe.detail,
        enabled: null,
        active: null,
        mainPid: null,
        restarts: null,
        activeSince: null,
        lastExit: null,
      };
    }
    const values = new Map(
      result.stdout
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)] as const),
    );
    const number = (key: string): number | null => {
      const value = Number(values.get(key));
      return values.get(key) !== undefined && values.get(key) !== '' && Number.isInteger(value) ? value : null;
    };
    const text = (key: string): string | null => values.get(key) || null;
    const mainPid = number('MainPID');
    return {
      available: true,
      detail: null,
      enabled: text('UnitFileState'),
      active:
        text('SubState') && text('SubState') !== text('ActiveState')
          ? `${text('ActiveState')} (${text('SubState')})`
          : text('ActiveState'),
      mainPid: mainPid === 0 ? null : mainPid,
      restarts: number('NRestarts'),
      activeSince: text('ActiveEnterTimestamp'),
      lastExit: text('Result'),
    };
  }
}
