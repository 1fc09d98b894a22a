import { resolve } from 'node:path';
import { resolveConfig, CONFIG_ENV } from '../config/resolveConfig.js';
import { defaultHome } from '../shared/paths.js';

/** The global options every command has. */
export interface GlobalOptions {
  readonly home?: string;
  readonly config?: string;
}

/**
 * The home a command talks to: `--home`; else, when a config file is named (`--config`,
 * `$BGTASKS_CONFIG`), the home that file gives the daemon (a system service's `/etc/bgtasks/config.json`
 * says `"home": "/var/lib/bgtasks"`); else `$BGTASKS_HOME` or the default. The default config file
 * (`<home>/config.json`) cannot move the home, so it is not read here: a broken file there does not stop
 * `bgtasks status` from finding the daemon. @throws ConfigError when a named file is missing or invalid.
 */
export function commandHome(globals: GlobalOptions, env: NodeJS.ProcessEnv = process.env): string {
  if (globals.home) return resolve(globals.home);
  if (globals.config !== undefined || env[CONFIG_ENV]) {
    return resolveConfig({ ...(globals.config !== undefined ? { configPath: globals.config } : {}), env }).compiled
      .home;
  }
  return defaultHome(env);
}
