/**
 * `bgtasks stop`: a clean stop of the running daemon, through its control socket. The reply goes out
 * first; then the daemon stops as on SIGTERM (the scheduler, the apps it launched, the socket, the
 * store, in that order; see Daemon.close). The `bgtasks` command waits for the socket to close.
 */
import { z } from 'zod';
import type { ControlCommandEntry } from '../control.js';
import { DaemonError } from '../errors.js';

export function stopCommand(requestStop: (() => void) | undefined): Record<string, ControlCommandEntry> {
  return {
    stop: {
      schema: z.strictObject({}),
      run: () => {
        if (!requestStop) throw new DaemonError('notSupported', 'this daemon is embedded in another program, which decides when it stops');
        // After this turn: the reply is written before the socket starts closing.
        setImmediate(requestStop);
        return { stopping: true, pid: process.pid };
      },
    },
  };
}
