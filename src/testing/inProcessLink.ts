import { AppSession, type SessionServices, type SessionTransport } from '../daemon/appSession.js';
import type { SchedulerLog } from '../daemon/scheduler/ports.js';
import { daemonMessageSchema, type DaemonMessage, type WireError } from '../protocol/messages.js';
import type { AppFrame, DaemonLink } from '../sdk/link.js';

/**
 * The socket, in one process: an app's SDK on one side, the daemon's {@link AppSession} on the other.
 * Every message is copied through JSON (what cannot cross a socket cannot cross this either) and checked
 * against the protocol's schemas, and arrives on a later microtask, as over a socket.
 */
export class InProcessLink implements DaemonLink {
  readonly #session: AppSession;
  readonly #messageListeners: ((message: DaemonMessage) => void)[] = [];
  readonly #closeListeners: ((error?: Error) => void)[] = [];
  #helloSent = false;
  #closed = false;
  #referenced = true;

  constructor(services: SessionServices, log: SchedulerLog, daemonVersion: string, instanceId: number) {
    const transport: SessionTransport = {
      send: (message) => this.#toApp(message),
      fail: (error) => this.#fail(error),
      end: () => queueMicrotask(() => this.#finish()),
    };
    this.#session = new AppSession(services, transport, log, daemonVersion, instanceId);
  }

  /** False once the app's SDK has let go of it (nothing pending): a tool the user ran would exit now. */
  get referenced(): boolean {
    return this.#referenced;
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: AppFrame): void {
    if (this.#closed) return;
    const copy: unknown = JSON.parse(JSON.stringify(message));
    queueMicrotask(() => {
      if (this.#closed) return;
      if (!this.#helloSent) {
        this.#helloSent = true;
        this.#session.hello(copy);
      } else {
        this.#session.frame(copy);
      }
    });
  }

  onMessage(listener: (message: DaemonMessage) => void): void {
    this.#messageListeners.push(listener);
  }

  onClose(listener: (error?: Error) => void): void {
    if (this.#closed) queueMicrotask(() => listener());
    else this.#closeListeners.push(listener);
  }

  ref(): void {
    this.#referenced = true;
  }

  unref(): void {
    this.#referenced = false;
  }

  close(): void {
    queueMicrotask(() => this.#finish());
  }

  #toApp(message: DaemonMessage): void {
    if (this.#closed) return;
    const copy = daemonMessageSchema.parse(JSON.parse(JSON.stringify(message))) as DaemonMessage;
    queueMicrotask(() => {
      if (this.#closed) return;
      for (const listener of this.#messageListeners) listener(copy);
    });
  }

  #fail(error: WireError): void {
    this.#toApp({ t: 'error', error });
    queueMicrotask(() => this.#finish(Object.assign(new Error(error.message), { code: error.code })));
  }

  #finish(error?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#session.closed();
    for (const listener of this.#closeListeners.splice(0)) listener(error);
  }
}
