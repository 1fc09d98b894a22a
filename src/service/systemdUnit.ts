import { ServiceError } from './serviceErrors.js';
import { SYSTEM_HOME } from './servicePaths.js';
import type { ServiceSpec } from './serviceSpec.js';

/**
 * The systemd unit for the daemon (pure: spec in, text out), and a reader of the unit's lines for
 * `status`. systemd's own rules apply to every value written here (systemd.service(5), "Command lines";
 * systemd.unit(5), "Specifiers"):
 *
 * - `%` starts a specifier everywhere, so a literal `%` is `%%`;
 * - in an argument of `ExecStart=`, `$` starts a variable, so a literal `$` is `$$`; the executable
 *   itself is never expanded, so its `$` stays as it is;
 * - a word with spaces or quotes goes in double quotes, inside which `\` and `"` are escaped C-style;
 * - the executable's path may not hold `\`, `"` or `'` at all (systemd refuses the unit), so such a
 *   Node.js path is refused here with `unsupportedPath` rather than written into a unit that cannot load.
 */

/** Restart a failed daemon after this long (systemd's default of 100 ms would spin on a broken install). */
export const RESTART_SEC = 5;
/** The daemon stops cleanly on SIGTERM (stops its apps, commits, closes the store); this is its bound. */
export const TIMEOUT_STOP_SEC = 30;

/** Words that need no quotes: nothing systemd or a reader would take for syntax. */
const BARE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

function escapeQuoted(value: string, options: { dollars: boolean }): string {
  let out = '';
  for (const char of value) {
    if (char === '\\') out += '\\\\';
    else if (char === '"') out += '\\"';
    else if (char === '%') out += '%%';
    else if (char === '$' && options.dollars) out += '$$';
    else out += char;
  }
  return out;
}

/** One word of a command line: an argument, or (`executable: true`) the program itself. */
export function quoteExecWord(value: string, options: { executable?: boolean } = {}): string {
  if (options.executable && /[\\"']/.test(value)) {
    throw new ServiceError(
      'unsupportedPath',
      `systemd cannot run a program whose path holds a backslash or a quote: ` +
        `${value} (install Node.js in a plainer directory)`,
      'node',
    );
  }
  const escaped = escapeQuoted(value, { dollars: !options.executable });
  return value !== '' && BARE_WORD.test(value) ? escaped : `"${escaped}"`;
}

/** `ExecStart=`'s value: the program, then each argument. */
export function execCommandLine(argv: readonly string[]): string {
  return argv.map((word, index) => quoteExecWord(word, { executable: index === 0 })).join(' ');
}

/** One `Environment=` assignment (no `$` expansion there, only specifiers and quoting). */
export function environmentAssignment(name: string, value: string): string {
  return `"${escapeQuoted(`${name}=${value}`, { dollars: false })}"`;
}

export function renderSystemdUnit(spec: ServiceSpec): string {
  const system = spec.scope === 'system';
  const lines = [
    '# Written by `bgtasks service install`. Run that again after upgrading Node.js or bgtasks',
    '# (`bgtasks service status` says when this file is stale); edits here are overwritten.',
    '[Unit]',
    'Description=bgtasks daemon (Background Tasks for Node.js)',
    ...(spec.documentation !== null ? [`Documentation=${spec.documentation.replaceAll('%', '%%')}`] : []),
    // A user manager has no network.target of its own: ordering against it is a system unit's business.
    ...(system ? ['After=network.target'] : []),
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${execCommandLine(spec.programArguments)}`,
    `Environment=${environmentAssignment('PATH', spec.pathEnv)}`,
    ...(system ? [`User=${spec.runAs ?? ''}`] : []),
    // systemd creates /var/lib/bgtasks owned by User= (and keeps it so); another home is the installer's job.
    ...(system && spec.home === SYSTEM_HOME ? ['StateDirectory=bgtasks', 'StateDirectoryMode=0700'] : []),
    'SyslogIdentifier=bgtasks',
    'Restart=on-failure',
    `RestartSec=${RESTART_SEC}`,
    // SIGTERM to the daemon alone: it stops the apps it launched itself, in order; what is left after
    // the timeout is killed.
    'KillMode=mixed',
    `TimeoutStopSec=${TIMEOUT_STOP_SEC}`,
    '',
    '[Install]',
    `WantedBy=${system ? 'multi-user.target' : 'default.target'}`,
    '',
  ];
  return lines.join('\n');
}

/** A unit file's assignments, by section, in order (repeated keys kept). Comments and blank lines are skipped. */
export function parseUnitFile(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = sections.get(section[1]!) ?? [];
      sections.set(section[1]!, current);
      continue;
    }
    const equals = line.indexOf('=');
    if (equals <= 0 || current === null)
      throw new ServiceError('invalidArgument', `not a unit file line: ${JSON.stringify(raw)}`, 'unit');
    current.push([line.slice(0, equals).trim(), line.slice(equals + 1).trim()]);
  }
  return sections;
}

/** The last value of a key in a section (systemd's rule for single-valued keys), or null. */
export function unitValue(unit: Map<string, [string, string][]>, section: string, key: string): string | null {
  const entries = unit.get(section)?.filter(([name]) => name === key) ?? [];
  return entries.length > 0 ? entries[entries.length - 1]![1] : null;
}

const C_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  s: ' ',
  '\\': '\\',
  '"': '"',
  "'": "'",
};

/**
 * Splits an `ExecStart=` value back into argv as systemd would run it: `%%` and `$$` undone, quotes
 * and C escapes removed, the `-@:+!` prefixes dropped. Other specifiers and `$VARIABLES` stay as written
 * (they mean something only to a running systemd). The integration test runs what this returns.
 */
export function parseExecCommandLine(value: string): string[] {
  const rest = value.replace(/^[-@:+!]+/, '');
  const words: string[] = [];
  let index = 0;
  const fail = (why: string): never => {
    throw new ServiceError('invalidArgument', `cannot read ExecStart=${value}: ${why}`, 'ExecStart');
  };
  while (index < rest.length) {
    while (index < rest.length && /\s/.test(rest[index]!)) index += 1;
    if (index >= rest.length) break;
    let word = '';
    const quote = rest[index] === '"' || rest[index] === "'" ? rest[index]! : null;
    if (quote) index += 1;
    for (;;) {
      if (index >= rest.length) {
        if (quote) fail('unbalanced quotes');
        break;
      }
      const char = rest[index]!;
      if (quote ? char === quote : /\s/.test(char)) {
        index += 1;
        if (quote && index < rest.length && !/\s/.test(rest[index]!)) fail('a closing quote must end its word');
        break;
      }
      if (char === '%' && rest[index + 1] === '%') {
        word += '%'; // systemd expands specifiers before it splits words; `%%` is one literal `%`
        index += 2;
        continue;
      }
      if (char === '\\') {
        const next = rest[index + 1];
        if (next === undefined) fail('a trailing backslash');
        if (next === 'x') {
          const hex = rest.slice(index + 2, index + 4);
          if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail('a bad \\x escape');
          word += String.fromCharCode(parseInt(hex, 16));
          index += 4;
          continue;
        }
        const escaped = C_ESCAPES[next!];
        if (escaped === undefined) fail(`an unknown escape \\${next}`);
        word += escaped;
        index += 2;
        continue;
      }
      word += char;
      index += 1;
    }
    words.push(word);
  }
  return words.map((word, position) => (position === 0 ? word : word.replace(/\$\$/g, '$')));
}
