/**
 * `bgtasks stop`: a clean stop of the running daemon, through its control socket. The reply goes out
 * first; then the daemon stops as on SIGTERM (the scheduler, the apps it launched, the socket, the
 * store, in that order; see Daemon.close). The `bgtasks` command waits for the socket to close.
 */
import { DaemonError } from '../errors.js';
import type { ControlHandlers } from './handlers.js';

export function stopCommand(requestStop: (() => void) | undefined): ControlHandlers<'stop'> {
  return {
    stop: () => {
      if (!requestStop) {
        const message = 'this daemon is embedded in another program, which decides when it stops';
        throw new DaemonError('notSupported', message);
      }
      // After this turn: the reply is written before the socket starts closing.
      setImmediate(requestStop);
      return { stopping: true, pid: process.pid };
    },
  };
}
