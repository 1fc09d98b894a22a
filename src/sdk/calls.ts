import {
  explanationSchema,
  pendingReplyDataSchema,
  submitReplyDataSchema,
  type AppMessage,
  type ExplanationData,
  type Reply,
  type RequestInput,
} from '../protocol/messages.js';
import { BGTaskSchedulerError, fromWireError } from './errors.js';
import { requestFromPending, type BGTaskRequest } from './requests.js';

/**
 * The request/reply bookkeeping of the scheduler. API calls become operations, queued in call order;
 * once per tick the scheduler sends them, consecutive operations of one type sharing a frame (many
 * submissions in one `submit`, many cancellations in one `cancel`), and each frame waits in flight for
 * the `reply` with its id.
 */

interface Settle<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
}

export type Op =
  | ({ readonly type: 'submit'; readonly input: RequestInput } & Settle<void>)
  | ({ readonly type: 'cancel'; readonly identifiers: readonly string[] | null } & Settle<void>)
  | ({ readonly type: 'pending' } & Settle<BGTaskRequest[]>)
  | ({ readonly type: 'explain'; readonly identifier: string } & Settle<ExplanationData>)
  /** A call answered on its own (notifications, push counts): its frame, and how to read the reply. */
  | ({
      readonly type: 'call';
      readonly frame: (id: number) => AppMessage;
      readonly parse: (data: unknown) => unknown;
    } & Settle<unknown>);

/** The most items one frame carries (the protocol's limit). */
const MAX_ITEMS = 10_000;

function malformed(what: string, detail: string): BGTaskSchedulerError {
  return new BGTaskSchedulerError('unavailable', `the daemon sent a malformed reply to ${what}: ${detail}`);
}

function withoutParent(input: RequestInput): RequestInput {
  if (input.parentTaskId === undefined) return input;
  const { parentTaskId: _parent, ...rest } = input;
  return rest;
}

function rejectAll(ops: readonly Op[], error: Error): void {
  for (const op of ops) op.reject(error);
}

export class Calls {
  #nextId = 1;
  #queued: Op[] = [];
  readonly #inFlight = new Map<number, { readonly type: Op['type']; readonly ops: readonly Op[] }>();

  /** True while an operation waits to be sent or for its reply. */
  get busy(): boolean {
    return this.#queued.length > 0 || this.#inFlight.size > 0;
  }

  get queued(): number {
    return this.#queued.length;
  }

  enqueue(op: Op): void {
    this.#queued.push(op);
  }

  /**
   * Sends every queued operation through `send`, in call order, and keeps each frame in flight. A
   * submission's `parentTaskId` goes only to a daemon that said it takes it (`daemonTakesParents`).
   */
  sendQueued(send: (frame: AppMessage) => void, { daemonTakesParents = false } = {}): void {
    const ops = this.#queued;
    this.#queued = [];
    let index = 0;
    while (index < ops.length) {
      const first = ops[index] as Op;
      let end = index + 1;
      // An explanation is about one identifier: one frame each.
      while (
        first.type !== 'explain' &&
        first.type !== 'call' &&
        end < ops.length &&
        end - index < MAX_ITEMS &&
        (ops[end] as Op).type === first.type
      )
        end += 1;
      const group = ops.slice(index, end);
      index = end;
      const id = this.#nextId++;
      this.#inFlight.set(id, { type: first.type, ops: group });
      send(this.#frame(id, first.type, group, daemonTakesParents));
    }
  }

  /** Settles the operations a reply answers; false when no frame has that id. */
  settle(reply: Reply): boolean {
    const call = this.#inFlight.get(reply.id);
    if (!call) return false;
    this.#inFlight.delete(reply.id);
    if (!reply.ok) {
      rejectAll(
        call.ops,
        fromWireError(reply.error ?? { code: 'unavailable', message: `the daemon refused the ${call.type} request` }),
      );
      return true;
    }
    switch (call.type) {
      case 'submit':
        this.#settleSubmit(call.ops, reply.data);
        break;
      case 'cancel':
        for (const op of call.ops) (op as Extract<Op, { type: 'cancel' }>).resolve();
        break;
      case 'pending':
        this.#settlePending(call.ops, reply.data);
        break;
      case 'call':
        for (const op of call.ops) {
          const single = op as Extract<Op, { type: 'call' }>;
          try {
            single.resolve(single.parse(reply.data));
          } catch (error) {
            op.reject(malformed('the call', error instanceof Error ? error.message : String(error)));
          }
        }
        break;
      case 'explain': {
        const parsed = explanationSchema.safeParse(reply.data);
        for (const op of call.ops) {
          if (parsed.success) (op as Extract<Op, { type: 'explain' }>).resolve(parsed.data);
          else op.reject(malformed('explain', parsed.error.issues[0]?.message ?? 'invalid'));
        }
        break;
      }
    }
    return true;
  }

  /** Rejects the queued operations (a connection attempt failed). */
  failQueued(error: Error): void {
    const ops = this.#queued;
    this.#queued = [];
    rejectAll(ops, error);
  }

  /** Rejects the operations waiting for replies (the link closed). */
  failInFlight(error: Error): void {
    const calls = [...this.#inFlight.values()];
    this.#inFlight.clear();
    for (const call of calls) rejectAll(call.ops, error);
  }

  failAll(error: Error): void {
    this.failInFlight(error);
    this.failQueued(error);
  }

  #frame(id: number, type: Op['type'], ops: readonly Op[], daemonTakesParents: boolean): AppMessage {
    if (type === 'submit') {
      const inputs = ops.map((op) => (op as Extract<Op, { type: 'submit' }>).input);
      return { t: 'submit', id, requests: daemonTakesParents ? inputs : inputs.map(withoutParent) };
    }
    if (type === 'cancel') {
      const lists = ops.map((op) => (op as Extract<Op, { type: 'cancel' }>).identifiers);
      const identifiers = lists.includes(null) ? null : [...new Set(lists.flatMap((list) => list ?? []))];
      return { t: 'cancel', id, identifiers };
    }
    if (type === 'explain')
      return { t: 'explain', id, identifier: (ops[0] as Extract<Op, { type: 'explain' }>).identifier };
    if (type === 'call') return (ops[0] as Extract<Op, { type: 'call' }>).frame(id);
    return { t: 'pending', id };
  }

  #settleSubmit(ops: readonly Op[], data: unknown): void {
    const parsed = submitReplyDataSchema.safeParse(data);
    if (!parsed.success) {
      rejectAll(ops, malformed('submit', parsed.error.issues[0]?.message ?? 'invalid'));
      return;
    }
    ops.forEach((op, index) => {
      const result = parsed.data.results[index];
      if (!result) op.reject(malformed('submit', `no result for request ${index}`));
      else if (result.ok) (op as Extract<Op, { type: 'submit' }>).resolve();
      else op.reject(fromWireError(result.error));
    });
  }

  #settlePending(ops: readonly Op[], data: unknown): void {
    const parsed = pendingReplyDataSchema.safeParse(data);
    if (!parsed.success) {
      rejectAll(ops, malformed('pending', parsed.error.issues[0]?.message ?? 'invalid'));
      return;
    }
    // Every caller gets its own copies.
    for (const op of ops)
      (op as Extract<Op, { type: 'pending' }>).resolve(parsed.data.requests.map(requestFromPending));
  }
}
