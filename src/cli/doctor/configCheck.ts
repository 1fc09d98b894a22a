import { ConfigError } from '../../config/configError.js';
import { describeSource } from '../../config/configSources.js';
import { resolveConfig } from '../../config/resolveConfig.js';
import { defaultHome } from '../../shared/paths.js';
import { errorMessage, fail, ok, shellQuote, warn, type Check } from './checks.js';

/** What the configuration tells the other checks: where the home is, and the store and node it names. */
export interface ConfigFacts {
  readonly home: string;
  /** Set when the file, the environment or a flag names the store (not the default). */
  readonly store?: { readonly location: string; readonly source: string };
  readonly nodeId?: string;
}

/**
 * The configuration the daemon would start with (src/config/resolveConfig.ts: the file, the
 * environment, the defaults): a file or variable it would refuse is a failure here, before the daemon's
 * next start finds it; what it would ignore is a warning.
 */
export function checkConfig(input: {
  readonly home?: string;
  readonly configPath?: string;
  readonly env: NodeJS.ProcessEnv;
}): { checks: Check[]; facts: ConfigFacts } {
  try {
    const config = resolveConfig({
      ...(input.home !== undefined ? { home: input.home } : {}),
      ...(input.configPath !== undefined ? { configPath: input.configPath } : {}),
      env: input.env,
    });
    const set = [...config.sources.values()].filter((source) => source.kind !== 'default');
    const fromFile = set.filter((source) => source.kind === 'file').length;
    const fromEnv = set.filter((source) => source.kind === 'env').length;
    const { path, exists } = config.file;
    const checks: Check[] = [
      ok(
        'config.file',
        'config',
        exists
          ? `${path} is valid: ${fromFile} option(s) set there, ${fromEnv} by the environment`
          : `no config file at ${path}: the ` +
              `defaults${fromEnv > 0 ? `, and ${fromEnv} option(s) set by the environment` : ''}`,
      ),
      ...config.warnings.map((warning, index) =>
        warn(
          `config.warning.${index + 1}`,
          'config',
          warning,
          'bgtasks config shows every option with its value and where it came from',
        ),
      ),
    ];
    const storeSource = config.sources.get('store');
    const nodeId = config.values.get('nodeId');
    return {
      checks,
      facts: {
        home: config.compiled.home,
        ...(storeSource && storeSource.kind !== 'default'
          ? { store: { location: config.compiled.store, source: describeSource(storeSource) } }
          : {}),
        ...(typeof nodeId === 'string' ? { nodeId } : {}),
      },
    };
  } catch (error) {
    const field = error instanceof ConfigError && error.field ? ` (${error.field})` : '';
    const code = error instanceof ConfigError ? ` [${error.code}]` : '';
    const named = input.configPath ?? input.env.BGTASKS_CONFIG;
    return {
      checks: [
        fail(
          'config.file',
          'config',
          `the daemon would refuse its configuration: ` + `${errorMessage(error)}${field}${code}`,
          `correct it (bgtasks config check${named ? ` ${shellQuote(named)}` : ''} ` +
            `checks the file alone; docs/configuration.md lists every option)`,
        ),
      ],
      // The configuration cannot say where the home is: the other checks look where it would be without it.
      facts: { home: input.home ?? defaultHome(input.env) },
    };
  }
}
