import type { AppHelloFrame, DaemonMessage, Welcome } from '../protocol/messages.js';
import { BGTaskSchedulerError, systemUnreachableError } from './errors.js';
import type { DaemonLink } from './link.js';

export interface GreetOptions {
  readonly socketPath: string;
  /** How long to wait for `welcome`, in milliseconds. */
  readonly timeoutMs: number;
  /** Every frame that is not the answer to `hello`, before and after the welcome. */
  readonly onMessage: (message: DaemonMessage) => void;
  /** The link closed after the welcome. */
  readonly onClose: (error: Error | undefined) => void;
}

export interface Greeting {
  /** Resolves with the daemon's `welcome`; rejects with `unavailable` (an `error` frame) or `systemUnreachable`. */
  readonly welcome: Promise<Welcome>;
  /** Stops waiting: closes the link and rejects `welcome` with `error` (no-op once settled). */
  abort(error: Error): void;
}

/**
 * Sends `hello` on a fresh link and waits for the daemon's answer. An `error` frame (`unknownApp`,
 * `badCredential`, `unavailable`, `unsupportedProtocolVersion`, `protocolError`) becomes `unavailable`
 * with the daemon's message; a close or no answer within `timeoutMs` becomes `systemUnreachable`.
 */
export function greet(link: DaemonLink, hello: AppHelloFrame, options: GreetOptions): Greeting {
  const { socketPath, timeoutMs } = options;
  /** `aborted`: we closed the link ourselves, so its close is not news. */
  let state: 'waiting' | 'open' | 'aborted' = 'waiting';
  let resolveWelcome!: (welcome: Welcome) => void;
  let rejectWelcome!: (error: Error) => void;
  const welcome = new Promise<Welcome>((resolve, reject) => {
    resolveWelcome = resolve;
    rejectWelcome = reject;
  });
  const abort = (error: Error): void => {
    if (state !== 'waiting') return;
    state = 'aborted';
    clearTimeout(timer);
    link.close();
    rejectWelcome(error);
  };
  const timer = setTimeout(
    () => abort(systemUnreachableError(socketPath, `the daemon did not answer the handshake within ${timeoutMs} ms`)),
    timeoutMs,
  );
  timer.unref();
  link.onMessage((message) => {
    if (state === 'aborted') return;
    if (state === 'waiting' && message.t === 'welcome') {
      state = 'open';
      clearTimeout(timer);
      resolveWelcome(message);
    } else if (state === 'waiting' && message.t === 'error') {
      const { code, message: text } = message.error;
      abort(
        new BGTaskSchedulerError('unavailable', code === 'unavailable' ? text : `${text} (${code})`, {
          cause: message.error,
        }),
      );
    } else {
      options.onMessage(message);
    }
  });
  link.onClose((error) => {
    if (state === 'waiting') {
      const detail = `the connection closed during the handshake${error ? ` (${error.message})` : ''}`;
      abort(systemUnreachableError(socketPath, detail, error));
    } else if (state === 'open') {
      options.onClose(error);
    }
  });
  link.send(hello);
  return { welcome, abort };
}
