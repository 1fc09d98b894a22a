import { firstLine, type CommandRunner } from './commandRunner.js';
import {
  commandFailed,
  runAll,
  type ActivateOptions,
  type Availability,
  type LifecycleAction,
  type ManagerState,
  type ServiceController,
} from './serviceController.js';
import { LAUNCHD_LABEL, type ServiceScope } from './servicePaths.js';

/**
 * launchd through `launchctl`'s domain commands (macOS 10.11+): an agent lives in the user's GUI
 * domain `gui/<uid>`, a daemon in `system`.
 */
export class LaunchdController implements ServiceController {
  readonly manager = 'launchd';
  readonly domain: string;
  readonly target: string;

  constructor(
    readonly scope: ServiceScope,
    private readonly runner: CommandRunner,
    uid: number,
  ) {
    this.domain = scope === 'system' ? 'system' : `gui/${uid}`;
    this.target = `${this.domain}/${LAUNCHD_LABEL}`;
  }

  async probe(): Promise<Availability> {
    const result = await this.runner.run('launchctl', ['print', this.domain]);
    if (result.code === 0) return { available: true, detail: this.domain };
    // Over ssh with nobody logged in at the screen there is no gui/<uid> domain.
    return { available: false, detail: `launchd domain ${this.domain} is not reachable (${firstLine(result)})` };
  }

  async #loaded(): Promise<boolean> {
    return (await this.runner.run('launchctl', ['print', this.target])).code === 0;
  }

  activationCommands(file: string, options: ActivateOptions): string[][] {
    // Without start, the plist in LaunchAgents/LaunchDaemons is loaded at the next login or boot anyway.
    return [
      ['launchctl', 'enable', this.target],
      ...(options.start ? [['launchctl', 'bootstrap', this.domain, file]] : []),
    ];
  }

  async activate(file: string, options: ActivateOptions): Promise<void> {
    const loaded = options.start && (await this.#loaded());
    // A loaded job keeps its old definition until it is booted out: a changed file (an upgrade) reloads it;
    // an unchanged one that is loaded is left running (bootstrapping it again would fail).
    if (loaded && !options.changed) return runAll(this.runner, [['launchctl', 'enable', this.target]]);
    if (loaded) await runAll(this.runner, [['launchctl', 'bootout', this.target]]);
    await runAll(this.runner, this.activationCommands(file, options));
  }

  async deactivate(): Promise<void> {
    if (!(await this.#loaded())) return;
    const result = await this.runner.run('launchctl', ['bootout', this.target]);
    if (result.code !== 0) throw commandFailed(['launchctl', 'bootout', this.target], result);
  }

  async afterRemoval(): Promise<void> {}

  /**
   * launchd keeps a loaded job alive (KeepAlive), so stopping it is booting it out (until `start`, or the
   * next login); starting loads it again; restarting is kickstart -k, which kills and starts it in place.
   */
  async lifecycle(action: LifecycleAction, file: string): Promise<string[][]> {
    const loaded = await this.#loaded();
    const commands: string[][] =
      action === 'stop'
        ? loaded
          ? [['launchctl', 'bootout', this.target]]
          : []
        : loaded
          ? [['launchctl', 'kickstart', ...(action === 'restart' ? ['-k'] : []), this.target]]
          : [['launchctl', 'bootstrap', this.domain, file]];
    await runAll(this.runner, commands);
    return commands;
  }

  async state(): Promise<ManagerState> {
    const probe = await this.probe();
    const unknown = { enabled: null, active: null, mainPid: null, restarts: null, activeSince: null, lastExit: null };
    if (!probe.available) return { available: false, detail: probe.detail, ...unknown };
    const disabled = await this.runner.run('launchctl', ['print-disabled', this.domain]);
    const line = disabled.stdout.split('\n').find((entry) => entry.includes(`"${LAUNCHD_LABEL}"`));
    // Older macOS prints `=> true` for disabled, newer `=> disabled`.
    const enabled = disabled.code !== 0 ? null : line && /=>\s*(disabled|true)/.test(line) ? 'disabled' : 'enabled';
    const printed = await this.runner.run('launchctl', ['print', this.target]);
    if (printed.code !== 0) return { available: true, detail: null, ...unknown, enabled, active: 'not loaded' };
    const field = (name: string): string | null =>
      new RegExp(`^\\s*${name} = (.*)$`, 'm').exec(printed.stdout)?.[1]?.trim() ?? null;
    const pid = Number(field('pid'));
    const runs = Number(field('runs'));
    return {
      available: true,
      detail: null,
      enabled,
      active: field('state'),
      mainPid: Number.isInteger(pid) && pid > 0 ? pid : null,
      restarts: Number.isInteger(runs) && runs > 0 ? runs - 1 : null,
      activeSince: null,
      lastExit: field('last exit code'),
    };
  }
}
