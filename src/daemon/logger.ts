import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

export type { Logger };

/** `auto`: readable lines on a terminal, JSON lines anywhere else. */
export type LogFormat = 'auto' | 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'json', 'pretty'];

export interface LoggerOptions {
  /** pino's level name. @default `$BGTASKS_LOG_LEVEL`, else 'info' */
  readonly level?: string;
  /** @default 'auto' */
  readonly format?: LogFormat;
  /** @default process.stderr */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * The daemon's logger: JSON lines when not on a terminal (for journald and log shippers), one readable
 * line per record on a terminal. Records about a task carry `appId`, `identifier` and `taskId` as fields
 * (see taskLog.ts). Credentials are redacted wherever they appear.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? 'auto';
  const pretty = format === 'auto' ? Boolean((destination as { isTTY?: boolean }).isTTY) : format === 'pretty';
  // JSON lines to the daemon's own stderr go through an asynchronous writer: a pipe's stderr is written
  // synchronously by Node, one syscall a record, which cost the daemon an eighth of its time per task
  // under load. Records written while a write is in flight go out together; pino flushes at exit.
  const json = options.destination === undefined ? pino.destination({ dest: 2, sync: false }) : destination;
  const stream = pretty ? prettyStream(destination) : json;
  return pino(
    {
      level: options.level ?? process.env.BGTASKS_LOG_LEVEL ?? 'info',
      base: undefined,
      redact: { paths: ['credential', '*.credential'], censor: '[redacted]' },
    },
    stream as pino.DestinationStream,
  );
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

function prettyStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        try {
          const { time, level, msg, ...fields } = JSON.parse(line) as Record<string, unknown>;
          const at = new Date(Number(time)).toISOString().slice(11, 19);
          const extra = Object.entries(fields)
            .filter(([, value]) => value !== undefined && value !== null)
            .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
            .join(' ');
          out.write(
            `${at} ${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ` +
              `${String(msg)}${extra ? `  ${extra}` : ''}\n`,
          );
        } catch {
          out.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}
