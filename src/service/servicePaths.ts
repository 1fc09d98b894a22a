import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { ServiceError } from './serviceErrors.js';

/** The systemd unit's name, user and system alike. */
export const SYSTEMD_UNIT_NAME = 'bgtasks.service';
/** The launchd job's label (and the plist's file name without `.plist`). */
export const LAUNCHD_LABEL = 'dev.bgtasks.daemon';
/** The home of a machine-wide (`--system`) service unless `--home` or `$BGTASKS_HOME` says otherwise. */
export const SYSTEM_HOME = '/var/lib/bgtasks';
/**
 * For tests: a directory that prefixes the absolute locations of `--system` service files
 * (`/etc/systemd/system`, `/Library/LaunchDaemons`), so a test can install a system unit without root.
 * Only where the file goes changes, never what it says. (Packagers use `--print` instead.)
 */
export const SERVICE_ROOT_ENV = 'BGTASKS_SERVICE_ROOT';

export type ServicePlatform = 'linux' | 'darwin';
export type ServiceScope = 'user' | 'system';

/** The service managers bgtasks writes for: systemd on Linux, launchd on macOS. */
export function servicePlatform(platform: NodeJS.Platform): ServicePlatform {
  if (platform === 'linux' || platform === 'darwin') return platform;
  throw new ServiceError(
    'unsupportedPlatform',
    `bgtasks service supports Linux (systemd) and macOS (launchd), not ` +
      `${platform}: run \`bgtasks daemon\` under this system's own service manager`,
  );
}

export interface ServiceFileEnv {
  readonly HOME?: string | undefined;
  readonly XDG_CONFIG_HOME?: string | undefined;
  readonly [SERVICE_ROOT_ENV]?: string | undefined;
}

/**
 * Where the service file lives:
 *
 * | platform | user scope                                               | system scope
 * |
 * |----------|----------------------------------------------------------|-----------------------------------------------|
 * | Linux    | `$XDG_CONFIG_HOME/systemd/user/bgtasks.service` (default `~/.config`) |
 * `/etc/systemd/system/bgtasks.service` |
 * | macOS    | `~/Library/LaunchAgents/dev.bgtasks.daemon.plist`        |
 * `/Library/LaunchDaemons/dev.bgtasks.daemon.plist` |
 *
 * `$XDG_CONFIG_HOME` counts only when absolute, as the XDG spec says (and as systemd reads it).
 */
export function serviceFilePath(platform: ServicePlatform, scope: ServiceScope, env: ServiceFileEnv): string {
  const home = env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir();
  if (scope === 'system') {
    const root = env[SERVICE_ROOT_ENV] ?? '';
    if (root !== '' && !isAbsolute(root))
      throw new ServiceError(
        'invalidArgument',
        `${SERVICE_ROOT_ENV} must be an absolute path, got "${root}"`,
        SERVICE_ROOT_ENV,
      );
    return platform === 'linux'
      ? join(root, '/etc/systemd/system', SYSTEMD_UNIT_NAME)
      : join(root, '/Library/LaunchDaemons', `${LAUNCHD_LABEL}.plist`);
  }
  if (platform === 'linux') {
    const config = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config');
    return join(config, 'systemd', 'user', SYSTEMD_UNIT_NAME);
  }
  return join(home, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`);
}
