import { dirname, isAbsolute, join } from 'node:path';
import { MAX_SOCKET_PATH_BYTES, homePaths } from '../shared/paths.js';
import { ServiceError } from './serviceErrors.js';
import type { ServicePlatform, ServiceScope } from './servicePaths.js';

/** What a service runs and as whom: the input of the pure generators (systemdUnit.ts, launchdPlist.ts). */
export interface ServiceSpecInput {
  readonly platform: ServicePlatform;
  readonly scope: ServiceScope;
  /** The Node.js binary, absolute (`process.execPath` of the installing command). */
  readonly nodePath: string;
  /** bgtasks' `dist/cli/main.js`, absolute and with symlinks resolved (an npx cache link would go stale). */
  readonly cliPath: string;
  /** The daemon's home, absolute. */
  readonly home: string;
  /** The daemon's config file (`--config`), absolute; null for none. */
  readonly configFile: string | null;
  /** The account a `system` service runs as; null for a `user` service (it runs as its user). */
  readonly runAs: string | null;
  /** A URL for the unit's `Documentation=`; null for none. */
  readonly documentation: string | null;
}

export interface ServiceSpec extends ServiceSpecInput {
  /** What the service manager runs: the daemon in the foreground. */
  readonly programArguments: readonly string[];
  /** `PATH` for the daemon, so the apps it launches (`"launch": ["node", …]`) find the same Node.js. */
  readonly pathEnv: string;
  /** Where launchd writes the daemon's stdout and stderr (systemd sends them to the journal). */
  readonly logFile: string;
}

/** The directories after Node.js's own in the service's PATH: what a login shell would have at least. */
const SYSTEM_PATH = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/sbin', '/sbin'];

/** A user name as `useradd` and macOS accept them (and nothing systemd or XML would need to escape). */
export const USER_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/;

// Control characters cannot be written in a unit file line or in XML 1.0.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function checkPath(field: string, path: string): void {
  if (!isAbsolute(path))
    throw new ServiceError('invalidArgument', `${field} must be an absolute path, got "${path}"`, field);
  if (CONTROL_CHARACTERS.test(path))
    throw new ServiceError(
      'unsupportedPath',
      `${field} contains a control character, which a service file cannot hold: ` + `${JSON.stringify(path)}`,
      field,
    );
}

/** Checks the input and derives the rest; every generator takes the result, so none re-checks. */
export function buildServiceSpec(input: ServiceSpecInput): ServiceSpec {
  checkPath('node', input.nodePath);
  checkPath('cli', input.cliPath);
  checkPath('home', input.home);
  if (input.configFile !== null) checkPath('config', input.configFile);
  if (input.scope === 'user' && input.runAs !== null)
    throw new ServiceError(
      'invalidArgument',
      '--user goes with --system: a user service runs as the user who installs it',
      'user',
    );
  if (input.scope === 'system' && input.runAs === null)
    throw new ServiceError('invalidArgument', 'a system service needs the user to run as', 'user');
  if (input.runAs !== null && !USER_NAME_PATTERN.test(input.runAs))
    throw new ServiceError(
      'invalidArgument',
      `--user must be a user name (letters, digits, "_", ".", "-"), got ` + `"${input.runAs}"`,
      'user',
    );
  const socketBytes = Buffer.byteLength(homePaths(input.home).socket);
  if (socketBytes > MAX_SOCKET_PATH_BYTES)
    throw new ServiceError(
      'invalidArgument',
      `the home ${input.home} is too long for the daemon's socket (${socketBytes} ` +
        `bytes > ${MAX_SOCKET_PATH_BYTES}): choose a shorter --home`,
      'home',
    );
  const pathEnv = [...new Set([dirname(input.nodePath), ...SYSTEM_PATH])].join(':');
  return {
    ...input,
    programArguments: daemonArguments(input),
    pathEnv,
    logFile: join(homePaths(input.home).logsDir, 'daemon.log'),
  };
}

/** `<node> <cli> --home <home> [--config <file>] daemon` */
export function daemonArguments(
  input: Pick<ServiceSpecInput, 'nodePath' | 'cliPath' | 'home' | 'configFile'>,
): string[] {
  return [
    input.nodePath,
    input.cliPath,
    '--home',
    input.home,
    ...(input.configFile !== null ? ['--config', input.configFile] : []),
    'daemon',
  ];
}

/** The inverse of `daemonArguments`, for `status` reading an installed file; null when the arguments are not ours. */
export function readDaemonArguments(
  argv: readonly string[],
): Pick<ServiceSpecInput, 'nodePath' | 'cliPath' | 'home' | 'configFile'> | null {
  const [nodePath, cliPath, ...rest] = argv;
  if (nodePath === undefined || cliPath === undefined || rest[rest.length - 1] !== 'daemon') return null;
  const options = rest.slice(0, -1);
  let home: string | null = null;
  let configFile: string | null = null;
  for (let i = 0; i < options.length; i += 2) {
    const [name, value] = [options[i], options[i + 1]];
    if (value === undefined) return null;
    if (name === '--home') home = value;
    else if (name === '--config') configFile = value;
    else return null;
  }
  return home === null ? null : { nodePath, cliPath, home, configFile };
}
