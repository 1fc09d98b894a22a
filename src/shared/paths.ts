import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where the system keeps its files. One home directory holds everything:
 *
 * | path                       | what                                   | mode |
 * |----------------------------|----------------------------------------|------|
 * | `store.sqlite`             | the embedded store (requests, history) | 0600 |
 * | `run/daemon.sock`          | the daemon's socket                    | 0600, in a 0700 directory |
 * | `credentials/<appId>`      | each installed app's credential        | 0600, in a 0700 directory |
 * | `logs/<appId>.log`         | stdout and stderr of launched apps      | 0600 |
 * | `logs/daemon.log`          | the daemon's log when run as a launchd service | 0600 |
 * | `config.json`              | the configuration, when there is one (docs/configuration.md) | as you made it |
 * | `metrics-token`            | the Bearer token for `GET /metrics`, kept across restarts | 0600 |
 * | `node-id`                  | this machine's id in a fleet (docs/fleet.md) | 0600 |
 */
export const ENV = {
  /** Overrides the home directory. */
  home: 'BGTASKS_HOME',
  /** Set by the daemon on processes it launches: `background` or `user`. */
  launchReason: 'BGTASKS_LAUNCH_REASON',
  /** Set by the daemon on processes it launches; echoed in `hello` so the daemon can match the process. */
  launchId: 'BGTASKS_LAUNCH_ID',
  /** Set by the daemon on processes it launches, so the SDK need not look for package.json. */
  appId: 'BGTASKS_APP_ID',
  /** Set by `bgtasks check`: the SDK runs without a daemon and writes what the app did to this file. */
  dryRun: 'BGTASKS_DRY_RUN',
} as const;

/** The longest path a Unix domain socket can have on Linux (108 bytes including the terminating NUL). */
export const MAX_SOCKET_PATH_BYTES = 107;

export interface HomePaths {
  readonly home: string;
  readonly storeFile: string;
  readonly runDir: string;
  readonly socket: string;
  readonly credentialsDir: string;
  readonly logsDir: string;
  readonly metricsTokenFile: string;
  credentialFile(appId: string): string;
  appLogFile(appId: string): string;
}

/** The default home: `$BGTASKS_HOME`, else `$XDG_STATE_HOME/bgtasks`, else `~/.local/state/bgtasks`. */
export function defaultHome(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env[ENV.home];
  if (explicit) return resolve(explicit);
  const state =
    env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(state, 'bgtasks');
}

export function homePaths(home: string): HomePaths {
  const root = resolve(home);
  const credentialsDir = join(root, 'credentials');
  const logsDir = join(root, 'logs');
  return {
    home: root,
    storeFile: join(root, 'store.sqlite'),
    runDir: join(root, 'run'),
    socket: join(root, 'run', 'daemon.sock'),
    credentialsDir,
    logsDir,
    metricsTokenFile: join(root, 'metrics-token'),
    credentialFile: (appId) => join(credentialsDir, appId),
    appLogFile: (appId) => join(logsDir, `${appId}.log`),
  };
}
