/**
 * The three places options come from, each read into a tree of the config schema's shape and checked
 * against it: the config file, the environment (`BGTASKS_` + the path in upper snake case) and the
 * command's flags. Each error names the option's path, or the variable that gave it.
 */
import { existsSync } from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from './configError.js';
import { configFileSchema, configOptionsSchema, type ConfigInput } from './configSchema.js';
import {
  CONFIG_OPTIONS,
  CONFIG_OPTIONS_BY_PATH,
  NON_OPTION_VARIABLES,
  closest,
  envName,
  getPath,
  setPath,
  type ConfigOption,
} from './configOptions.js';
import { readUntrustedFile, MAX_CONFIG_BYTES } from '../shared/untrustedFile.js';

/** Where an option's effective value came from. */
export type ConfigSource =
  | { readonly kind: 'default'; readonly note?: string }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'flag' };

/** `default`, `default (profile server)`, `file /etc/bgtasks/config.json`, `env BGTASKS_HTTP_PORT`, `flag`. */
export function describeSource(source: ConfigSource): string {
  switch (source.kind) {
    case 'default':
      return source.note ? `default (${source.note})` : 'default';
    case 'file':
      return `file ${source.path}`;
    case 'env':
      return `env ${source.variable}`;
    case 'flag':
      return 'flag';
  }
}

export interface ConfigFile {
  readonly path: string;
  readonly exists: boolean;
  /** Named by `--config` or `$BGTASKS_CONFIG` (so it must exist), rather than found at `<home>/config.json`. */
  readonly explicit: boolean;
  readonly values: ConfigInput;
}

/**
 * Reads and checks the config file. A missing file is all defaults, unless it was named explicitly
 * (`namedBy`: the flag or variable that named it), which is `configNotFound`.
 */
export function readConfigFile(path: string, namedBy: 'config' | 'BGTASKS_CONFIG' | null): ConfigFile {
  const explicit = namedBy !== null;
  if (!existsSync(path)) {
    if (explicit)
      throw new ConfigError(
        'configNotFound',
        `the config file ${path} (named by ` +
          `${namedBy === 'config' ? '--config' : '$BGTASKS_CONFIG'}) does not exist`,
        namedBy,
      );
    return { path, exists: false, explicit, values: {} };
  }
  let text: string;
  try {
    text = readUntrustedFile(path, MAX_CONFIG_BYTES);
  } catch (error) {
    throw new ConfigError(
      'invalidConfig',
      `cannot read the config file ${path}: ${(error as Error).message}`,
      namedBy ?? undefined,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      'invalidConfig',
      `the config file ${path} is not valid JSON: ${(error as Error).message}`,
      namedBy ?? undefined,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(
      'invalidConfig',
      `the config file ${path} must hold a JSON object, e.g. { "http": { "port": ` + `8080 } }`,
      namedBy ?? undefined,
    );
  }
  const { $schema: _editorsOnly, ...values } = check(configFileSchema, parsed, `in ${path}`);
  return { path, exists: true, explicit, values };
}

/**
 * Checks options given as a tree (the flags of a command), naming the path at fault.
 * @throws ConfigError
 */
export function checkOptions(input: unknown, where: string): ConfigInput {
  return check(configOptionsSchema, input, where);
}

export interface EnvironmentOptions {
  readonly values: ConfigInput;
  /** Option path → the variable that set it. */
  readonly variables: ReadonlyMap<string, string>;
  /** `BGTASKS_*` variables that look like options but are none (a typo is otherwise silently ignored). */
  readonly warnings: readonly string[];
}

/**
 * The options set in the environment: `BGTASKS_` + the option's path in upper snake case. An empty
 * variable counts as unset (as `BGTASKS_HOME=` always has). Integers and `true`/`false` are parsed by
 * the option's type; an error names the variable.
 */
export function readEnvironment(env: NodeJS.ProcessEnv): EnvironmentOptions {
  const values: Record<string, unknown> = {};
  const variables = new Map<string, string>();
  for (const option of CONFIG_OPTIONS) {
    const text = env[option.env];
    if (text === undefined || text === '') continue;
    const value = parseText(option, text);
    const checked = option.schema.safeParse(value);
    if (!checked.success) {
      throw new ConfigError(
        'invalidOption',
        `${option.env}=${JSON.stringify(text)}: ` +
          `${checked.error.issues[0]?.message ?? 'invalid'} (the option ` +
          `${option.path})`,
        option.env,
      );
    }
    setPath(values, option.segments, checked.data);
    variables.set(option.path, option.env);
  }
  return { values: values as ConfigInput, variables, warnings: strayVariables(env) };
}

function parseText(option: ConfigOption, text: string): unknown {
  switch (option.kind) {
    case 'integer':
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'string':
      return text;
  }
}

const OPTION_VARIABLES = new Set(CONFIG_OPTIONS.map((option) => option.env));
/** `BGTASKS_HTTP_`, `BGTASKS_SCHEDULING_`, ...: a variable under a section's prefix can only be meant as an option. */
const SECTION_PREFIXES = [
  ...new Set(
    CONFIG_OPTIONS.filter((option) => option.segments.length > 1).map(
      (option) => `${envName(option.segments.slice(0, 1))}_`,
    ),
  ),
];

function strayVariables(env: NodeJS.ProcessEnv): string[] {
  const warnings: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('BGTASKS_') || OPTION_VARIABLES.has(name) || NON_OPTION_VARIABLES.has(name)) continue;
    const guess = closest(name, OPTION_VARIABLES);
    if (guess === null && !SECTION_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    warnings.push(`${name} is not an option and is ignored${guess ? `; did you mean ${guess}?` : ''}`);
  }
  return warnings;
}

/** Parses `input` with `schema`; the first problem becomes a ConfigError naming its path. */
function check<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const issue = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  if (issue.code === 'unrecognized_keys') {
    const parent = issue.path.map(String);
    const key = issue.keys[0]!;
    const path = [...parent, key].join('.');
    const guess = closest(key, siblingKeys(parent));
    const suggestion = guess ? `; did you mean \`${[...parent, guess].join('.')}\`?` : '';
    return fail(new ConfigError('unknownOption', `unknown option \`${path}\` ${where}${suggestion}${more}`, path));
  }
  const segments = issue.path.map(String);
  const path = segments.join('.');
  const value = getPath(input, segments);
  const option = CONFIG_OPTIONS_BY_PATH.get(path);
  const expected = option || issue.code !== 'invalid_type' ? issue.message : 'expected an object';
  return fail(
    new ConfigError('invalidOption', `\`${path}\` ${where}: ${expected}, got ${describeValue(value)}${more}`, path),
  );
}

function fail(error: ConfigError): never {
  throw error;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value);
  const shown = json.length > 60 ? `${json.slice(0, 57)}...` : json;
  return `${shown} (${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value})`;
}

/** The keys the schema has next to a misspelt one, for "did you mean". */
function siblingKeys(parent: readonly string[]): string[] {
  const depth = parent.length;
  const keys = CONFIG_OPTIONS.filter(
    (option) => option.segments.length > depth && parent.every((segment, index) => option.segments[index] === segment),
  ).map((option) => option.segments[depth]!);
  return [...new Set(depth === 0 ? [...keys, '$schema'] : keys)];
}
