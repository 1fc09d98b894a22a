import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

export type { Logger };

/**
 * The daemon's logger: JSON lines when not on a terminal (for journald and log shippers), one readable
 * line per record on a terminal. Credentials are redacted wherever they appear.
 */
export function createLogger(options: { level?: string; pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const pretty = options.pretty ?? Boolean((destination as { isTTY?: boolean }).isTTY);
  const stream = pretty ? prettyStream(destination) : destination;
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
          out.write(`${at} ${(LEVELS[Number(level)] ?? String(level)).padEnd(5)} ${String(msg)}${extra ? `  ${extra}` : ''}\n`);
        } catch {
          out.write(`${line}\n`);
        }
      }
      callback();
    },
  });
}
