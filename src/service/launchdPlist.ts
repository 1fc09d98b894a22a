import { ServiceError } from './serviceErrors.js';
import { LAUNCHD_LABEL } from './servicePaths.js';
import type { ServiceSpec } from './serviceSpec.js';

/**
 * The launchd job for the daemon (pure: spec in, XML out; launchd.plist(5)), and a reader of the
 * property-list XML subset it uses, for `status` and the tests. Every string is XML-escaped.
 */

/** launchd's minimum time between two starts of the job, in seconds (its own default is 10). */
export const THROTTLE_INTERVAL_SEC = 5;
/** SIGTERM to SIGKILL when launchd stops the job: the daemon's clean stop needs a few seconds. */
export const EXIT_TIMEOUT_SEC = 30;

export function escapeXml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[char]!,
  );
}

export function renderLaunchdPlist(spec: ServiceSpec): string {
  const string = (value: string): string => `<string>${escapeXml(value)}</string>`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">',
    '<!-- Written by `bgtasks service install`. Run that again after upgrading Node.js or bgtasks',
    '     (`bgtasks service status` says when this file is stale); edits here are overwritten. -->',
    '<plist version="1.0">',
    '<dict>',
    `  <key>Label</key>`,
    `  ${string(LAUNCHD_LABEL)}`,
    '  <key>ProgramArguments</key>',
    '  <array>',
    ...spec.programArguments.map((arg) => `    ${string(arg)}`),
    '  </array>',
    ...(spec.scope === 'system' ? ['  <key>UserName</key>', `  ${string(spec.runAs ?? '')}`] : []),
    '  <key>EnvironmentVariables</key>',
    '  <dict>',
    '    <key>PATH</key>',
    `    ${string(spec.pathEnv)}`,
    '  </dict>',
    // Start at login (an agent) or at boot (a daemon), and again whenever it exits unsuccessfully;
    // a clean stop (exit 0 after SIGTERM) stays stopped.
    '  <key>RunAtLoad</key>',
    '  <true/>',
    '  <key>KeepAlive</key>',
    '  <dict>',
    '    <key>SuccessfulExit</key>',
    '    <false/>',
    '  </dict>',
    '  <key>ThrottleInterval</key>',
    `  <integer>${THROTTLE_INTERVAL_SEC}</integer>`,
    '  <key>ExitTimeOut</key>',
    `  <integer>${EXIT_TIMEOUT_SEC}</integer>`,
    '  <key>StandardOutPath</key>',
    `  ${string(spec.logFile)}`,
    '  <key>StandardErrorPath</key>',
    `  ${string(spec.logFile)}`,
    '</dict>',
    '</plist>',
    '',
  ];
  return lines.join('\n');
}

export type PlistValue = string | number | boolean | PlistValue[] | { [key: string]: PlistValue };

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Parses property-list XML (dict, array, key, string, integer, real, true, false, date, data) and
 * refuses anything that is not well-formed: unclosed or mismatched elements, a raw `<` or `&` in text,
 * unknown entities, content after the root. Not a general XML parser: no attributes are read but the
 * root's, no CDATA, no external entities.
 */
export function parsePlist(xml: string): PlistValue {
  let at = 0;
  const fail = (why: string): never => {
    throw new ServiceError('invalidArgument', `not a property list: ${why} at offset ${at}`, 'plist');
  };
  const skipMisc = (): void => {
    for (;;) {
      while (at < xml.length && /\s/.test(xml[at]!)) at += 1;
      if (xml.startsWith('<!--', at)) {
        const end = xml.indexOf('-->', at + 4);
        if (end < 0) fail('an unclosed comment');
        at = end + 3;
      } else if (xml.startsWith('<?', at)) {
        const end = xml.indexOf('?>', at + 2);
        if (end < 0) fail('an unclosed processing instruction');
        at = end + 2;
      } else if (xml.startsWith('<!DOCTYPE', at)) {
        const end = xml.indexOf('>', at);
        if (end < 0) fail('an unclosed DOCTYPE');
        at = end + 1;
      } else return;
    }
  };
  /** Reads `<name attrs>` or `<name/>`; returns the name and whether it closed itself. */
  const openTag = (): { name: string; empty: boolean } => {
    const match = /^<([A-Za-z][A-Za-z0-9_-]*)((?:\s+[A-Za-z_:][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/.exec(
      xml.slice(at),
    );
    if (!match) return fail('expected an element');
    at += match[0].length;
    return { name: match[1]!, empty: match[3] === '/' };
  };
  const closeTag = (name: string): void => {
    const match = /^<\/([A-Za-z][A-Za-z0-9_-]*)\s*>/.exec(xml.slice(at));
    if (!match) fail(`expected </${name}>`);
    if (match![1] !== name) fail(`</${match![1]}> closes <${name}>`);
    at += match![0].length;
  };
  const text = (name: string): string => {
    const end = xml.indexOf('<', at);
    if (end < 0) fail(`an unclosed <${name}>`);
    const raw = xml.slice(at, end);
    at = end;
    closeTag(name);
    return raw.replace(/&([^;]*);?/g, (whole, entity: string) => {
      if (!whole.endsWith(';')) fail('a raw "&" in text');
      if (entity in ENTITIES) return ENTITIES[entity]!;
      const code = /^#x([0-9a-fA-F]+)$/.exec(entity)?.[1] ?? /^#(\d+)$/.exec(entity)?.[1];
      if (code === undefined) return fail(`an unknown entity &${entity};`);
      return String.fromCodePoint(entity.startsWith('#x') ? parseInt(code, 16) : Number(code));
    });
  };
  const value = (): PlistValue => {
    skipMisc();
    const { name, empty } = openTag();
    switch (name) {
      case 'true':
      case 'false':
        if (!empty) closeTag(name);
        return name === 'true';
      case 'string':
      case 'date':
      case 'data':
        return empty ? '' : text(name);
      case 'integer':
      case 'real': {
        const number = Number(empty ? fail(`an empty <${name}>`) : text(name).trim());
        if (!Number.isFinite(number) || (name === 'integer' && !Number.isInteger(number))) fail(`a bad <${name}>`);
        return number;
      }
      case 'array': {
        const items: PlistValue[] = [];
        if (empty) return items;
        for (;;) {
          skipMisc();
          if (xml.startsWith('</', at)) {
            closeTag('array');
            return items;
          }
          items.push(value());
        }
      }
      case 'dict': {
        const entries: Record<string, PlistValue> = {};
        if (empty) return entries;
        for (;;) {
          skipMisc();
          if (xml.startsWith('</', at)) {
            closeTag('dict');
            return entries;
          }
          const key = openTag();
          if (key.name !== 'key') fail(`expected <key> in a dict, got <${key.name}>`);
          const keyName = key.empty ? '' : text('key');
          if (Object.hasOwn(entries, keyName)) fail(`a repeated key "${keyName}"`);
          entries[keyName] = value();
        }
      }
      default:
        return fail(`an unknown element <${name}>`);
    }
  };
  skipMisc();
  const root = openTag();
  if (root.name !== 'plist' || root.empty) fail('the root must be <plist>');
  const result = value();
  skipMisc();
  closeTag('plist');
  skipMisc();
  if (at !== xml.length) fail('content after </plist>');
  return result;
}

/** The job's ProgramArguments, UserName and Label, as `status` compares them; null where absent or mistyped. */
export function readLaunchdJob(plist: PlistValue): {
  label: string | null;
  programArguments: string[] | null;
  userName: string | null;
} {
  const dict = typeof plist === 'object' && plist !== null && !Array.isArray(plist) ? plist : {};
  const args = dict.ProgramArguments;
  return {
    label: typeof dict.Label === 'string' ? dict.Label : null,
    programArguments: Array.isArray(args) && args.every((arg) => typeof arg === 'string') ? (args as string[]) : null,
    userName: typeof dict.UserName === 'string' ? dict.UserName : null,
  };
}
