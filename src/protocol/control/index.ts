/**
 * The control surface: every command `bgtasks` and the dashboard send on a control connection, each
 * with its name, the schema of its arguments and the type of its result (one module each, see
 * spec.ts). The daemon's handlers (src/daemon/control.ts) and the client's `call` are typed by this
 * registry, so a name, an argument or a reply field the two sides disagree on does not compile.
 */
import type { z } from 'zod';
import { apps } from './apps.js';
import { appsToken } from './appsToken.js';
import { cancel } from './cancel.js';
import { cancelQueued } from './cancelQueued.js';
import { cancelTask } from './cancelTask.js';
import { conditions, conditionsReset, conditionsSet } from './conditions.js';
import { expire } from './expire.js';
import { fleetHistory, fleetNodes, fleetPending, fleetWhy } from './fleet.js';
import { history } from './history.js';
import { install } from './install.js';
import { notifications } from './notifications.js';
import { notificationsAct } from './notificationsAct.js';
import { notificationsAllow, notificationsDeny } from './notificationsAuthorization.js';
import { notificationsDismiss } from './notificationsDismiss.js';
import { open } from './open.js';
import { pending } from './pending.js';
import { push } from './push.js';
import { pushes } from './pushes.js';
import { quit } from './quit.js';
import { run } from './run.js';
import { snapshot } from './snapshot.js';
import { controlRegistry, type ResultOf } from './spec.js';
import { status } from './status.js';
import { stop } from './stop.js';
import { disable, enable } from './switch.js';
import { uninstall } from './uninstall.js';
import { watch } from './watch.js';
import { why } from './why.js';
import { whyApp } from './whyApp.js';

export const CONTROL_COMMANDS = controlRegistry(
  status,
  install,
  uninstall,
  appsToken,
  push,
  pushes,
  notifications,
  notificationsAllow,
  notificationsDeny,
  notificationsAct,
  notificationsDismiss,
  apps,
  enable,
  disable,
  open,
  quit,
  pending,
  history,
  why,
  whyApp,
  run,
  expire,
  snapshot,
  cancelTask,
  cancelQueued,
  conditions,
  conditionsSet,
  conditionsReset,
  fleetNodes,
  fleetPending,
  fleetHistory,
  fleetWhy,
  cancel,
  stop,
  watch,
);

type Registry = typeof CONTROL_COMMANDS;
export type ControlName = keyof Registry;
/** What a client sends: arguments with defaults may be left out. */
export type ControlArgs<N extends ControlName> = z.input<Registry[N]['args']>;
/** What the daemon's handler gets: checked, with the defaults filled in. */
export type ControlParsedArgs<N extends ControlName> = z.output<Registry[N]['args']>;
export type ControlResult<N extends ControlName> = ResultOf<Registry[N]>;

/** The commands the daemon's control handlers answer (`watch` is the connection's own). */
export type HandledControlName = Exclude<ControlName, 'watch'>;

/** Whether a name from the wire is a control command. */
export function isControlName(name: string): name is ControlName {
  return Object.hasOwn(CONTROL_COMMANDS, name);
}

export type { ControlSpec } from './spec.js';
export type { StatusResult, StoreFault } from './status.js';
export type { InstallResult, PublicApp } from './install.js';
export type { AppListing } from './apps.js';
export type { SwitchResult } from './switch.js';
export type { PushStored } from './push.js';
export type { PushesResult } from './pushes.js';
export type { NotificationsResult } from './notifications.js';
export type { PendingRequest } from './pending.js';
export type { WhyResult } from './why.js';
export type { WhyAppResult } from './whyApp.js';
export type { ConditionsResult } from './conditions.js';
export type { CancelResult, Cancelled } from './cancel.js';
export type { FleetRequestView, FleetRunView, FleetWhyResult, NodeView } from './fleet.js';
