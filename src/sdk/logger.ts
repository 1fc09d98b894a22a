/**
 * Where the SDK says what it did and why (a rejected registration, a task without a handler, a lost
 * daemon). Replace it with `BGTaskScheduler.shared.logger = myLogger` to route the lines elsewhere.
 */
export interface Logger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export type LogLevel = keyof Logger;

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error)
    return { name: value.name, message: value.message, ...('code' in value ? { code: value.code } : {}) };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Formats one log line: `[bgtasks] warn: message {"field":1}`. */
export function formatLine(level: LogLevel, message: string, fields?: Readonly<Record<string, unknown>>): string {
  let suffix = '';
  if (fields && Object.keys(fields).length > 0) {
    try {
      suffix = ` ${JSON.stringify(fields, replacer)}`;
    } catch {
      suffix = ' [fields not serialisable]';
    }
  }
  return `[bgtasks] ${level}: ${message}${suffix}\n`;
}

/**
 * The default logger: one line per entry on stderr, prefixed `[bgtasks]`. Only `warn` and `error` are
 * written unless `BGTASKS_DEBUG` is set (to anything but `0` or an empty string).
 */
export function createStderrLogger(
  env: NodeJS.ProcessEnv = process.env,
  write: (line: string) => void = (line) => void process.stderr.write(line),
): Logger {
  const debug = env.BGTASKS_DEBUG !== undefined && env.BGTASKS_DEBUG !== '' && env.BGTASKS_DEBUG !== '0';
  const threshold = LEVELS.indexOf(debug ? 'debug' : 'warn');
  const at =
    (level: LogLevel) =>
    (message: string, fields?: Readonly<Record<string, unknown>>): void => {
      if (LEVELS.indexOf(level) >= threshold) write(formatLine(level, message, fields));
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** Calls the logger without letting a throwing logger break the SDK. */
export function safeLog(
  logger: Logger,
  level: LogLevel,
  message: string,
  fields?: Readonly<Record<string, unknown>>,
): void {
  try {
    logger[level](message, fields);
  } catch {
    // A broken logger must not take task delivery down with it.
  }
}
