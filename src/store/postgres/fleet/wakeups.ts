import pg from 'pg';
import { cappedBackoff } from '../../../engine/backoff.js';
import { FLEET_CHANNEL } from '../../fleet.js';

/** The first wait before getting the wake-up connection back. */
const FIRST_RECONNECT_MS = 500;
/** The longest wait between attempts to get the wake-up connection back. */
const MAX_RECONNECT_MS = 30_000;

/**
 * LISTEN on the fleet's channel, on a connection of its own (a pooled one would be handed to other
 * queries). A lost connection is reported once and reconnected with backoff; meanwhile the node's
 * heartbeat still looks at the pool, so work is only later, never lost.
 *
 * The reconnect timer is real time on purpose: it is the I/O shell's, not a schedule of the engine.
 */
export async function listenForWork(
  config: pg.ClientConfig,
  onWake: () => void,
  onError: (error: Error) => void,
): Promise<AsyncDisposable> {
  let client: pg.Client | null = null;
  let closed = false;
  let failures = 0; // reconnects failed in a row: each waits longer
  let timer: NodeJS.Timeout | null = null;

  const connect = async (): Promise<void> => {
    const next = new pg.Client(config);
    next.on('notification', () => onWake());
    next.on('error', (error) => lost(next, error));
    next.on('end', () => lost(next, new Error('the connection ended')));
    await next.connect();
    await next.query(`LISTEN ${FLEET_CHANNEL}`);
    if (closed) {
      await next.end();
      return;
    }
    client = next;
    failures = 0;
    onWake(); // whatever was notified while away
  };

  const lost = (which: pg.Client, error: Error): void => {
    if (closed || client !== which) return;
    client = null;
    onError(error);
    schedule();
  };

  const schedule = (): void => {
    timer = setTimeout(
      () => {
        timer = null;
        connect().catch((error: unknown) => {
          if (closed) return;
          failures += 1;
          onError(error instanceof Error ? error : new Error(String(error)));
          schedule();
        });
      },
      cappedBackoff(FIRST_RECONNECT_MS, MAX_RECONNECT_MS, failures),
    );
    timer.unref();
  };

  await connect();
  return {
    async [Symbol.asyncDispose]() {
      closed = true;
      if (timer) clearTimeout(timer);
      const current = client;
      client = null;
      await current?.end().catch(() => undefined);
    },
  };
}

const NOTIFY = /* sql */ `SELECT pg_notify('${FLEET_CHANNEL}', '')`;

/** Wakes every listening node; delivered when the surrounding transaction (if any) commits. */
export function notifySql(): string {
  return NOTIFY;
}
