import { createConnection, type Socket } from 'node:net';
import { FrameDecoder, encodeFrame } from '../protocol/framing.js';
import { PROTOCOL_VERSION, daemonMessageSchema, type WireError } from '../protocol/messages.js';
import type { ControlArgs, ControlResult, HandledControlName } from '../protocol/control/index.js';

// Defined in src/shared (the config's errors extend it too); re-exported for the commands.
import { CliError } from '../shared/cliError.js';
export { CliError };

/** A control connection to the daemon: request/reply, plus a stream of events after `watch`. */
export class ControlClient implements AsyncDisposable {
  readonly #socket: Socket;
  readonly #pending = new Map<number, { resolve: (data: unknown) => void; reject: (error: Error) => void }>();
  #nextId = 1;
  #onEvent: ((event: unknown) => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      const client = new ControlClient(socket);
      const decoder = new FrameDecoder(64 * 1024 * 1024);
      let welcomed = false;
      socket.once('error', (error: NodeJS.ErrnoException) => {
        const notRunning = error.code === 'ENOENT' || error.code === 'ECONNREFUSED';
        const failure = notRunning
          ? new CliError(
              'daemonNotRunning',
              `no bgtasks daemon is running at ${socketPath}: start one with \`bgtasks ` +
                `daemon\` (or \`npm start\`)`,
            )
          : new CliError('daemonUnreachable', `cannot reach the daemon at ${socketPath}: ${error.message}`);
        if (!welcomed) reject(failure);
        client.#failAll(failure);
      });
      socket.on('close', () => client.#failAll(new CliError('daemonUnreachable', 'the daemon closed the connection')));
      socket.on('data', (chunk: Buffer) => {
        for (const line of decoder.push(chunk)) {
          const parsed = daemonMessageSchema.safeParse(JSON.parse(line));
          if (!parsed.success) continue;
          const message = parsed.data;
          if (message.t === 'welcome') {
            welcomed = true;
            resolve(client);
          } else if (message.t === 'reply') {
            const waiter = client.#pending.get(message.id);
            client.#pending.delete(message.id);
            if (!waiter) continue;
            if (message.ok) waiter.resolve(message.data);
            else waiter.reject(fromWire(message.error));
          } else if (message.t === 'event') {
            client.#onEvent?.(message.event);
          } else if (message.t === 'error') {
            const failure = fromWire(message.error);
            if (!welcomed) reject(failure);
            client.#failAll(failure);
          }
        }
      });
      socket.once('connect', () => socket.write(encodeFrame({ t: 'hello', v: PROTOCOL_VERSION, role: 'control' })));
    });
  }

  /**
   * One control command, typed by its spec in src/protocol/control. The result is trusted, not checked
   * again: the daemon is ours, and the hello pinned the protocol version (docs/protocol.md).
   */
  call<N extends HandledControlName>(name: N, args: ControlArgs<N>): Promise<ControlResult<N>> {
    return this.request<ControlResult<N>>(name, args);
  }

  /**
   * Any command with any arguments, the result untyped: for what `call` cannot send (tests that send
   * what the daemon must refuse, `doctor`, which checks what an older daemon answers, and `watch`).
   */
  request<T = unknown>(command: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (data: unknown) => void, reject });
      this.#socket.write(encodeFrame({ t: 'control', id, command, args }));
    });
  }

  async watch(onEvent: (event: unknown) => void): Promise<void> {
    this.#onEvent = onEvent;
    await this.request('watch');
  }

  /** Resolves when the daemon closes the connection. */
  closed(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#socket.destroyed) resolve();
      else this.#socket.once('close', () => resolve());
    });
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #failAll(error: Error): void {
    for (const waiter of this.#pending.values()) waiter.reject(error);
    this.#pending.clear();
  }
}

function fromWire(error: WireError | undefined): CliError {
  return new CliError(error?.code ?? 'internalError', error?.message ?? 'the daemon reported an error', error?.field);
}
