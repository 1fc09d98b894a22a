import { createConnection, type Socket } from 'node:net';

/**
 * A client of the daemon's socket that speaks raw frames, for tests that must send what the SDK never
 * would: every frame the daemon sends back is kept, and whether it closed the connection.
 */
export class RawClient {
  readonly frames: Record<string, unknown>[] = [];
  closed = false;
  #buffer = '';
  readonly connected: Promise<void>;

  constructor(readonly socket: Socket) {
    this.connected = new Promise((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
    socket.on('data', (chunk: Buffer) => {
      this.#buffer += chunk.toString();
      let newline: number;
      while ((newline = this.#buffer.indexOf('\n')) >= 0) {
        this.frames.push(JSON.parse(this.#buffer.slice(0, newline)) as Record<string, unknown>);
        this.#buffer = this.#buffer.slice(newline + 1);
      }
    });
    socket.on('error', () => undefined);
    socket.once('close', () => (this.closed = true));
  }

  static open(path: string): RawClient {
    return new RawClient(createConnection(path));
  }

  /** Sends one frame. */
  send(frame: unknown): void {
    this.socket.write(`${JSON.stringify(frame)}\n`);
  }

  errorCode(): string | undefined {
    const error = this.frames.find((frame) => frame.t === 'error')?.error as { code?: string } | undefined;
    return error?.code;
  }

  /** The frames received so far with `t: 'reply'` and this id. */
  reply(id: number): Record<string, unknown> | undefined {
    return this.frames.find((frame) => frame.t === 'reply' && frame.id === id);
  }
}
