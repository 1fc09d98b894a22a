import type { Command } from 'commander';
import { configJsonSchema } from '../../config/configSchema.js';
import { CONFIG_OPTIONS } from '../../config/configOptions.js';
import { describeSource } from '../../config/configSources.js';
import { CONFIG_ENV, resolveConfig, type ResolvedConfig } from '../../config/resolveConfig.js';
import { table } from '../format.js';

interface GlobalOptions {
  readonly home?: string;
  readonly config?: string;
}

/**
 * `bgtasks config`: the configuration `bgtasks daemon` would start with (its file, the environment and
 * the defaults; the daemon's own flags win over these), each option with where its value came from. No
 * daemon needed. `--schema` prints the file's JSON Schema; `config check [file]` checks a file alone.
 */
export function addConfigCommand(program: Command): void {
  const config = program
    .command('config')
    .description(
      'show the effective configuration (config file, environment, defaults) and ' +
        'where each value came from; see docs/configuration.md',
    )
    .option('--schema', 'print the config file\'s JSON Schema (for editors: "$schema" in the file)')
    .option('--json', 'print JSON')
    .action((options: { schema?: boolean; json?: boolean }) => {
      if (options.schema) {
        process.stdout.write(`${JSON.stringify(configJsonSchema(), null, 2)}\n`);
        return;
      }
      const { home, config: configPath } = program.opts<GlobalOptions>();
      const resolved = resolveConfig({
        ...(home !== undefined ? { home } : {}),
        ...(configPath !== undefined ? { configPath } : {}),
        env: process.env,
      });
      process.stdout.write(options.json ? `${JSON.stringify(configJson(resolved), null, 2)}\n` : configText(resolved));
    });

  config
    .command('check')
    .argument('[file]', 'the config file (default: --config, else $BGTASKS_CONFIG, else <home>/config.json)')
    .description('check a config file alone (not the environment): exits 2 naming the field at fault')
    .option('--json', 'print JSON')
    .action((file: string | undefined, options: { json?: boolean }) => {
      const { home, config: configPath } = program.opts<GlobalOptions>();
      // Only what locates the file and the home: the options of the environment are not the file's.
      const env = Object.fromEntries(
        ['BGTASKS_HOME', CONFIG_ENV, 'XDG_STATE_HOME', 'HOME']
          .filter((name) => process.env[name] !== undefined)
          .map((name) => [name, process.env[name]]),
      );
      const named = file ?? configPath;
      const resolved = resolveConfig({
        ...(home !== undefined ? { home } : {}),
        ...(named !== undefined ? { configPath: named } : {}),
        env,
      });
      const set = [...resolved.sources].filter(([, source]) => source.kind === 'file').map(([path]) => path);
      if (options.json) {
        process.stdout.write(
          `${JSON.stringify({ ok: true, file: resolved.file, set, warnings: resolved.warnings }, null, 2)}\n`,
        );
        return;
      }
      const lines = resolved.file.exists
        ? [
            `ok: ${resolved.file.path} (${set.length} ` +
              `option${set.length === 1 ? '' : 's'} ` +
              `set${set.length > 0 ? `: ${set.join(', ')}` : ''})`,
          ]
        : [`no config file at ${resolved.file.path}: nothing to check (every option has its default)`];
      process.stdout.write(`${[...lines, ...resolved.warnings.map((warning) => `warning: ${warning}`)].join('\n')}\n`);
    });
}

/** A postgres:// URL's password is not for printing. */
export function redact(path: string, value: unknown): unknown {
  if (path !== 'store' || typeof value !== 'string') return value;
  return value.replace(/^(postgres(?:ql)?:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

function configJson(resolved: ResolvedConfig): unknown {
  return {
    file: resolved.file,
    options: Object.fromEntries(
      CONFIG_OPTIONS.map((option) => {
        const source = resolved.sources.get(option.path)!;
        return [
          option.path,
          {
            value: redact(option.path, resolved.values.get(option.path)),
            source: describeSource(source),
            from: source.kind,
            env: option.env,
          },
        ];
      }),
    ),
    warnings: resolved.warnings,
  };
}

function configText(resolved: ResolvedConfig): string {
  const { file } = resolved;
  const found = file.exists ? 'read' : 'not found: the defaults apply';
  const another = file.explicit ? '' : `; another with --config or $${CONFIG_ENV}`;
  const header = [
    `config file: ${file.path} (${found}${another})`,
    "precedence: the daemon's flags > environment (BGTASKS_ + the path in upper " +
      'snake case: http.port is BGTASKS_HTTP_PORT) > file > default',
    '',
  ];
  const rows = CONFIG_OPTIONS.map((option) => {
    const value = redact(option.path, resolved.values.get(option.path));
    return {
      option: option.path,
      value: value === null ? '(decided at start)' : value,
      source: describeSource(resolved.sources.get(option.path)!),
    };
  });
  const warnings =
    resolved.warnings.length > 0 ? ['', ...resolved.warnings.map((warning) => `warning: ${warning}`)] : [];
  return `${[...header, table(rows, ['option', 'value', 'source']), ...warnings].join('\n')}\n`;
}
