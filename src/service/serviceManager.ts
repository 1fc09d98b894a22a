import { chownSync, existsSync, mkdirSync } from 'node:fs';
import { shellLine, type CommandRunner } from './commandRunner.js';
import { LaunchdController } from './launchdController.js';
import { ServiceError } from './serviceErrors.js';
import type { LifecycleAction, ManagerState, ServiceController } from './serviceController.js';
import {
  readIfPresent,
  readServiceFile,
  removeServiceFile,
  renderServiceFile,
  writeServiceFile,
} from './serviceFiles.js';
import { SYSTEM_HOME, serviceFilePath, type ServicePlatform, type ServiceScope } from './servicePaths.js';
import { buildServiceSpec, readDaemonArguments, type ServiceSpec } from './serviceSpec.js';
import { SystemdController } from './systemdController.js';
import { homePaths } from '../shared/paths.js';

/**
 * `bgtasks service install | uninstall | status`, without the command line: what to write where, and
 * which service-manager commands to run. The pure parts are in serviceSpec.ts, systemdUnit.ts and
 * launchdPlist.ts; the system calls go through the `CommandRunner`, and every location comes from
 * `env`, so tests run all of it against temporary directories.
 */
export interface ServiceHost {
  readonly platform: ServicePlatform;
  /** HOME, XDG_CONFIG_HOME, SUDO_USER, BGTASKS_SERVICE_ROOT are read from here. */
  readonly env: NodeJS.ProcessEnv;
  readonly runner: CommandRunner;
  /** This process's uid (launchd's gui/<uid> domain; root may hand the home to the service's user). */
  readonly uid: number;
  /** The user running this command. */
  readonly userName: string;
  readonly nodePath: string;
  readonly cliPath: string;
  readonly documentation: string | null;
}

export interface ServiceTarget {
  readonly scope: ServiceScope;
  readonly home: string;
  readonly configFile: string | null;
  /** `--user` as given; null when not given. */
  readonly user: string | null;
}

export function controllerFor(host: ServiceHost, scope: ServiceScope): ServiceController {
  return host.platform === 'linux'
    ? new SystemdController(scope, host.runner)
    : new LaunchdController(scope, host.runner, host.uid);
}

/**
 * Whom a system service runs as: `--user`, else the user who ran sudo, else this user. Never root by
 * default: a daemon running as root would launch every app as root, so root needs `--user root`.
 */
export function resolveRunAs(
  scope: ServiceScope,
  user: string | null,
  env: NodeJS.ProcessEnv,
  userName: string,
): string | null {
  if (scope === 'user') {
    if (user !== null)
      throw new ServiceError(
        'invalidArgument',
        '--user goes with --system: a user service runs as the user who installs it',
        'user',
      );
    return null;
  }
  if (user !== null) return user;
  const implicit = env.SUDO_USER || userName;
  if (implicit === 'root')
    throw new ServiceError(
      'invalidArgument',
      'a system service would run as root and launch every app as root: name the ' +
        'user it runs as with --user <name> (--user root if you mean it)',
      'user',
    );
  return implicit;
}

/** The spec of what `install` writes for this target, as this bgtasks would write it now. */
export function specFor(host: ServiceHost, target: ServiceTarget): ServiceSpec {
  return buildServiceSpec({
    platform: host.platform,
    scope: target.scope,
    nodePath: host.nodePath,
    cliPath: host.cliPath,
    home: target.home,
    configFile: target.configFile,
    runAs: resolveRunAs(target.scope, target.user, host.env, host.userName),
    documentation: host.documentation,
  });
}

export interface InstallResult {
  readonly platform: ServicePlatform;
  readonly scope: ServiceScope;
  readonly manager: 'systemd' | 'launchd';
  readonly file: string;
  /** false when the file already said exactly this. */
  readonly changed: boolean;
  readonly home: string;
  readonly runAs: string | null;
  readonly programArguments: readonly string[];
  /** Whether the manager was told: enabled at login/boot (and started, when `started`). */
  readonly enabled: boolean;
  readonly started: boolean;
  /** Why the manager could not be told, or null. */
  readonly managerUnavailable: string | null;
  /** What to run by hand once the manager can be reached (empty when nothing is left to do). */
  readonly pendingCommands: readonly string[];
}

async function accountIds(runner: CommandRunner, user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([runner.run('id', ['-u', user]), runner.run('id', ['-g', user])]);
  if (uid.code !== 0 || gid.code !== 0)
    throw new ServiceError('invalidArgument', `there is no user named "${user}" on this machine`, 'user');
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/**
 * The home must exist before the manager starts the daemon when launchd is to open its log file there,
 * and must belong to the service's user when root installs a system service. systemd makes
 * /var/lib/bgtasks itself (StateDirectory=); a user daemon makes its own home.
 */
async function prepareHome(host: ServiceHost, spec: ServiceSpec): Promise<void> {
  const needsLogs = spec.platform === 'darwin';
  const systemManaged = spec.platform === 'linux' && spec.home === SYSTEM_HOME;
  if (spec.scope === 'system' && spec.runAs !== null) {
    const ids = await accountIds(host.runner, spec.runAs); // also checks that the user exists
    if (systemManaged || host.uid !== 0) return;
    for (const dir of needsLogs ? [spec.home, homePaths(spec.home).logsDir] : [spec.home]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chownSync(dir, ids.uid, ids.gid);
    }
    return;
  }
  if (needsLogs) mkdirSync(homePaths(spec.home).logsDir, { recursive: true, mode: 0o700 });
}

/** What `install --print` shows: the file and its text, with nothing written or run. */
export function previewService(
  host: ServiceHost,
  target: ServiceTarget,
): { file: string; content: string; spec: ServiceSpec } {
  const spec = specFor(host, target);
  return { file: serviceFilePath(host.platform, target.scope, host.env), content: renderServiceFile(spec), spec };
}

export async function installService(
  host: ServiceHost,
  target: ServiceTarget,
  options: { start: boolean },
): Promise<InstallResult> {
  const spec = specFor(host, target);
  const file = serviceFilePath(host.platform, target.scope, host.env);
  const content = renderServiceFile(spec);
  await prepareHome(host, spec);
  const changed = readIfPresent(file) !== content;
  if (changed) writeServiceFile(file, content);
  const controller = controllerFor(host, target.scope);
  const base = {
    platform: host.platform,
    scope: target.scope,
    manager: controller.manager,
    file,
    changed,
    home: spec.home,
    runAs: spec.runAs,
    programArguments: spec.programArguments,
  };
  const probe = await controller.probe();
  if (!probe.available) {
    return {
      ...base,
      enabled: false,
      started: false,
      managerUnavailable: probe.detail,
      pendingCommands: controller.activationCommands(file, { start: options.start, changed }).map(shellLine),
    };
  }
  try {
    await controller.activate(file, { start: options.start, changed });
  } catch (error) {
    if (error instanceof ServiceError)
      throw new ServiceError(error.code, `wrote ${file}, but ${error.message}`, error.field);
    throw error;
  }
  return { ...base, enabled: true, started: options.start, managerUnavailable: null, pendingCommands: [] };
}

export interface UninstallResult {
  readonly platform: ServicePlatform;
  readonly scope: ServiceScope;
  readonly file: string;
  /** false when there was no file to remove (uninstall is idempotent). */
  readonly removed: boolean;
  readonly managerUnavailable: string | null;
  readonly pendingCommands: readonly string[];
}

export async function uninstallService(host: ServiceHost, scope: ServiceScope): Promise<UninstallResult> {
  const file = serviceFilePath(host.platform, scope, host.env);
  const base = { platform: host.platform, scope, file };
  if (readIfPresent(file) === null) return { ...base, removed: false, managerUnavailable: null, pendingCommands: [] };
  const controller = controllerFor(host, scope);
  const probe = await controller.probe();
  // A stop that fails leaves the file, so the service can still be managed and looked into.
  if (probe.available) await controller.deactivate(file);
  removeServiceFile(file);
  if (probe.available) await controller.afterRemoval();
  const pending =
    host.platform === 'linux'
      ? [shellLine(['systemctl', ...(scope === 'user' ? ['--user'] : []), 'daemon-reload'])]
      : [];
  return {
    ...base,
    removed: true,
    managerUnavailable: probe.available ? null : probe.detail,
    pendingCommands: probe.available ? [] : pending,
  };
}

export interface StatusResult {
  readonly platform: ServicePlatform;
  readonly scope: ServiceScope;
  readonly file: string;
  readonly installed: boolean;
  /** Whether the file says what `install` would write now; null when none is installed. */
  readonly current: boolean | null;
  /** Why it is stale, one line each. */
  readonly staleReasons: readonly string[];
  /** The daemon's home as the file gives it (else the one asked about). */
  readonly home: string;
  readonly runAs: string | null;
  readonly programArguments: readonly string[] | null;
  /** The service file of the other scope, when one is installed there instead. */
  readonly otherScopeFile: string | null;
  /** The service manager's view; null when nothing is installed. */
  readonly manager: ManagerState | null;
}

/**
 * Reads the installed file and compares it with what this bgtasks, on this Node.js, would write for
 * the same home, config and user: a Node.js upgrade (a new execPath) or a moved bgtasks makes it stale.
 */
export async function serviceStatus(host: ServiceHost, target: ServiceTarget): Promise<StatusResult> {
  const file = serviceFilePath(host.platform, target.scope, host.env);
  const otherScope: ServiceScope = target.scope === 'user' ? 'system' : 'user';
  const otherFile = serviceFilePath(host.platform, otherScope, host.env);
  const base = {
    platform: host.platform,
    scope: target.scope,
    file,
    otherScopeFile: existsSync(otherFile) ? otherFile : null,
  };
  const text = readIfPresent(file);
  if (text === null)
    return {
      ...base,
      installed: false,
      current: null,
      staleReasons: [],
      home: target.home,
      runAs: null,
      programArguments: null,
      manager: null,
    };
  const job = readServiceFile(host.platform, text);
  const daemon = job ? readDaemonArguments(job.programArguments) : null;
  const reasons: string[] = [];
  if (job === null || daemon === null) {
    reasons.push("bgtasks cannot read the daemon's command line from it (edited by hand?)");
  } else {
    if (daemon.nodePath !== host.nodePath)
      reasons.push(
        `it runs Node.js ${daemon.nodePath}${existsSync(daemon.nodePath) ? '' : ' (which no longer exists)'}, ` +
          `this bgtasks runs on ${host.nodePath}`,
      );
    if (daemon.cliPath !== host.cliPath)
      reasons.push(
        `it runs bgtasks from ${daemon.cliPath}${existsSync(daemon.cliPath) ? '' : ' (which no longer exists)'}, ` +
          `this one is ${host.cliPath}`,
      );
    if (reasons.length === 0) {
      const expected = specOrNull(host, {
        scope: target.scope,
        home: daemon.home,
        configFile: daemon.configFile,
        user: job.runAs,
      });
      if (expected === null || renderServiceFile(expected) !== text)
        reasons.push(
          'it differs from what this version of bgtasks writes (edited by hand, or ' + 'written by another version)',
        );
    }
  }
  const manager = await controllerFor(host, target.scope).state();
  return {
    ...base,
    installed: true,
    current: reasons.length === 0,
    staleReasons: reasons,
    home: daemon?.home ?? target.home,
    runAs: job?.runAs ?? null,
    programArguments: job?.programArguments ?? null,
    manager,
  };
}

function specOrNull(host: ServiceHost, target: ServiceTarget): ServiceSpec | null {
  try {
    return specFor(host, target);
  } catch (error) {
    if (error instanceof ServiceError) return null;
    throw error;
  }
}

export interface LifecycleResult {
  readonly platform: ServicePlatform;
  readonly scope: ServiceScope;
  readonly file: string;
  readonly action: LifecycleAction;
  /** What was run, as a person would type it. */
  readonly commands: readonly string[];
}

/**
 * `bgtasks service start | stop | restart`: asks the service manager, so that it knows (a daemon stopped
 * behind its back would be started again, or reported failed).
 * @throws ServiceError `serviceNotInstalled`, `serviceManagerUnavailable` or `serviceCommandFailed`.
 */
export async function controlService(
  host: ServiceHost,
  scope: ServiceScope,
  action: LifecycleAction,
): Promise<LifecycleResult> {
  const file = serviceFilePath(host.platform, scope, host.env);
  if (readIfPresent(file) === null) {
    throw new ServiceError(
      'serviceNotInstalled',
      `no bgtasks service is installed (it would be ${file}): \`bgtasks service ` +
        `install${scope === 'system' ? ' --system' : ''}\`` +
        `${action === 'stop' ? ', or stop a daemon started by hand with `bgtasks stop`' : ''}`,
    );
  }
  const controller = controllerFor(host, scope);
  const probe = await controller.probe();
  if (!probe.available)
    throw new ServiceError('serviceManagerUnavailable', `cannot ${action} the service: ${probe.detail}`);
  const commands = await controller.lifecycle(action, file);
  return { platform: host.platform, scope, file, action, commands: commands.map(shellLine) };
}
