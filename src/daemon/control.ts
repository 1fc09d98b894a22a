import type { DeviceConditions } from '../conditions/deviceConditions.js';
import type { Clock } from '../engine/clock.js';
import {
  CONTROL_COMMANDS,
  type ControlArgs,
  type ControlResult,
  type HandledControlName,
  type PushStored,
} from '../protocol/control/index.js';
import { describeIssue } from '../protocol/messages.js';
import type { PushBody } from '../protocol/push.js';
import type { FleetStore } from '../store/fleet.js';
import type { Store } from '../store/store.js';
import { appCommands } from './commands/apps.js';
import { cancelCommand } from './commands/cancel.js';
import { OVERRIDES_SETTING, conditionsCommands } from './commands/conditions.js';
import { fleetCommands } from './commands/fleet.js';
import type { ControlHandler, ControlHandlers } from './commands/handlers.js';
import { messagingCommands, receivePush } from './commands/messaging.js';
import { statusCommands } from './commands/status.js';
import { stopCommand } from './commands/stop.js';
import { taskCommands } from './commands/tasks.js';
import { DaemonError } from './errors.js';
import type { HistoryStatus } from './history/historyPruner.js';
import type { NotificationCenter } from './notifications/notificationCenter.js';
import type { PushTokens } from './pushTokens.js';
import type { Scheduler } from './scheduler/scheduler.js';
import type { StoreWriter } from './storeWriter.js';

export interface ControlDeps {
  readonly home: string;
  readonly clock: Clock;
  readonly store: Store;
  /** Writes go through the daemon's writer, so watchers see them and they keep their order. */
  readonly writer: StoreWriter;
  readonly scheduler: Scheduler;
  readonly conditions: DeviceConditions;
  readonly daemonVersion: string;
  readonly startedAt: number;
  /** The policy profile in force, and why it was chosen. */
  readonly profile: { readonly name: string; readonly reason: string };
  /** Subscribes to history events and run changes, for `watch`; returns an unsubscribe function. */
  readonly subscribe: (listener: (event: unknown) => void) => () => void;
  /** Where the dashboard is served (without its token), for `status`; null when it is not. */
  readonly dashboard?: () => { readonly url: string; readonly port: number } | null;
  readonly notifications: NotificationCenter;
  readonly pushTokens: PushTokens;
  /** The store as a fleet sees it (`fleet.*` commands, the dashboard's Fleet panel); null (the default) on SQLite. */
  readonly fleet?: FleetStore | null;
  /** Asks the daemon's owner to stop it cleanly (`bgtasks stop`); absent where it is embedded. */
  readonly requestStop?: () => void;
  /** How much history the store holds and keeps, for `status` (see HistoryPruner). */
  readonly history?: { status(): HistoryStatus };
}

/**
 * The commands behind `bgtasks` and the dashboard: each one's name, argument schema and result type are
 * in src/protocol/control; its handler is in ./commands. Arguments from the wire are checked here, at
 * the boundary; handlers get them typed, and return plain data the CLI formats as a table or as JSON.
 */
export class ControlCommands {
  readonly #deps: ControlDeps;
  readonly #handlers: ControlHandlers;

  constructor(deps: ControlDeps) {
    this.#deps = deps;
    this.#handlers = {
      ...statusCommands(deps),
      ...appCommands(deps),
      ...messagingCommands(deps),
      ...taskCommands(deps),
      ...conditionsCommands(deps),
      ...fleetCommands({ fleet: deps.fleet ?? null, scheduler: deps.scheduler, clock: deps.clock }),
      ...cancelCommand(deps.scheduler),
      ...stopCommand(deps.requestStop),
    };
  }

  /** The persisted overrides (`bgtasks conditions set` survives a restart). */
  static async loadOverrides(store: Store): Promise<Record<string, unknown>> {
    return (await store.getSetting<Record<string, unknown>>(OVERRIDES_SETTING)) ?? {};
  }

  get names(): string[] {
    return Object.keys(this.#handlers);
  }

  /**
   * A command from the wire (a control connection, the dashboard's API): its name and arguments are
   * unchecked. @throws DaemonError `unknownCommand` (field `command`), `invalidArgument` with the field.
   */
  async run(command: string, rawArgs: unknown): Promise<unknown> {
    if (!this.#handles(command)) {
      const known = this.names.join(', ');
      throw new DaemonError('unknownCommand', `unknown command "${command}"; known: ${known}`, 'command');
    }
    const parsed = CONTROL_COMMANDS[command].args.safeParse(rawArgs);
    if (!parsed.success) {
      const { field, message } = describeIssue(parsed.error);
      throw new DaemonError('invalidArgument', message, field);
    }
    // The schema just checked what this handler takes: the registry pairs them by name.
    const handler = this.#handlers[command] as ControlHandler<HandledControlName> as (args: unknown) => unknown;
    return await handler(parsed.data);
  }

  /** A command from inside the daemon's process (`bgtasks demo`, the dashboard's stream): typed, and still checked. */
  async call<N extends HandledControlName>(name: N, args: ControlArgs<N>): Promise<ControlResult<N>> {
    return (await this.run(name, args)) as ControlResult<N>;
  }

  /**
   * Takes a push (checked against the push body's schema by the caller): resolves once it is stored.
   * @throws DaemonError `payloadTooLarge` (field `data`) past 4 KB, `unknownApp`, `notPermitted`.
   */
  receivePush(appId: string, body: PushBody): Promise<PushStored> {
    return receivePush(this.#deps, appId, body);
  }

  watch(listener: (event: unknown) => void): () => void {
    return this.#deps.subscribe(listener);
  }

  /** Own keys only: `constructor` or `toString` must be an unknown command, not Object.prototype's. */
  #handles(command: string): command is HandledControlName {
    return Object.hasOwn(this.#handlers, command);
  }
}
