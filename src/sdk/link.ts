import { createConnection, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../protocol/framing.js';
import {
  daemonMessageSchema,
  describeIssue,
  type AppHelloFrame,
  type AppMessage,
  type CompletedFrame,
  type DaemonMessage,
} from '../protocol/messages.js';

/** A frame the app sends. */
export type AppFrame = AppHelloFrame | AppMessage | CompletedFrame;

/**
 * The scheduler's only way to the daemon: the Unix socket here, an in-process daemon in the testing
 * kit. Messages arrive already checked against the protocol.
 */
export interface DaemonLink {
  /** Sends one frame. Does nothing once the link is closed. */
  send(message: AppFrame): void;
  /** Each frame from the daemon, in order. */
  onMessage(listener: (message: DaemonMessage) => void): void;
  /** Called once when the link closes: with an error when it broke, without one when it was closed normally. */
  onClose(listener: (error?: Error) => void): void;
  /** Lets the link keep the process alive (the default). */
  ref(): void;
  /** Lets the process exit while the link is open. */
  unref(): void;
  /** Closes the link after sending what was already sent. */
  close(): void;
}

export interface ConnectSocketOptions {
  /** The longest frame accepted from the daemon, in bytes. @default 16 MiB */
  readonly maxFrameBytes?: number;
}

/** Raised (as the close error) when the daemon sends something that is not a protocol frame. */
export class DaemonProtocolError extends Error {
  override readonly name = 'DaemonProtocolError';
  readonly code = 'protocolError';
}

class SocketLink implements DaemonLink {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #messageListeners: Array<(message: DaemonMessage) => void> = [];
  readonly #closeListeners: Array<(error?: Error) => void> = [];
  /** Frames that arrived before anyone listened. */
  #early: DaemonMessage[] = [];
  #closed = false;
  #closeError: Error | undefined;

  constructor(socket: Socket, maxFrameBytes: number) {
    this.#socket = socket;
    this.#decoder = new FrameDecoder(maxFrameBytes);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', (error) => {
      this.#closeError ??= error;
    });
    socket.on('close', () => this.#finish(this.#closeError));
  }

  send(message: AppFrame): void {
    if (this.#closed || this.#socket.destroyed || !this.#socket.writable) return;
    this.#socket.write(encodeFrame(message));
  }

  onMessage(listener: (message: DaemonMessage) => void): void {
    this.#messageListeners.push(listener);
    const early = this.#early;
    this.#early = [];
    for (const message of early) this.#emit(message);
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => listener(this.#closeError));
    else this.#closeListeners.push(listener);
  }

  ref(): void {
    this.#socket.ref();
  }

  unref(): void {
    this.#socket.unref();
  }

  close(): void {
    if (this.#closed) return;
    // Flush what was written, then let go of the socket even if the daemon never closes its side.
    this.#socket.end(() => this.#socket.destroy());
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    let lines: string[];
    try {
      lines = this.#decoder.push(chunk);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    for (const line of lines) {
      if (this.#closed) return;
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        this.#fail(new DaemonProtocolError(`the daemon sent a frame that is not JSON: ${line.slice(0, 80)}`));
        return;
      }
      const parsed = daemonMessageSchema.safeParse(value);
      if (!parsed.success) {
        this.#fail(new DaemonProtocolError(`the daemon sent an invalid frame: ${describeIssue(parsed.error).message}`));
        return;
      }
      this.#emit(parsed.data as DaemonMessage);
    }
  }

  #emit(message: DaemonMessage): void {
    if (this.#messageListeners.length === 0) {
      this.#early.push(message);
      return;
    }
    for (const listener of this.#messageListeners) listener(message);
  }

  #fail(error: Error): void {
    this.#closeError ??= error;
    this.#socket.destroy();
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#early = [];
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }
}

/**
 * Connects to the daemon's socket. Resolves once connected; rejects with the socket error (`ENOENT`,
 * `ECONNREFUSED`, `EACCES`, ...) when nothing answers. Frames the daemon sends are checked against the
 * protocol; an invalid one (or one longer than `maxFrameBytes`) closes the link with an error.
 */
export function connectSocket(socketPath: string, options: ConnectSocketOptions = {}): Promise<DaemonLink> {
  const maxFrameBytes = options.maxFrameBytes ?? 16 * 1024 * 1024;
  if (!Number.isInteger(maxFrameBytes) || maxFrameBytes < 1) {
    return Promise.reject(
      new TypeError(
        `Expected \`maxFrameBytes\` to be an integer >= 1, got ` +
          `\`${String(maxFrameBytes)}\` (${typeof maxFrameBytes})`,
      ),
    );
  }
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    const onError = (error: Error): void => {
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(new SocketLink(socket, maxFrameBytes));
    });
  });
}
