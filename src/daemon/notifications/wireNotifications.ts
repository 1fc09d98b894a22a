import type { Clock } from '../../engine/clock.js';
import type { Store } from '../../store/store.js';
import { createIdFactory } from '../ids.js';
import type { SchedulerLog } from '../scheduler/ports.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { StoreWriter } from '../storeWriter.js';
import type { DesktopNotifier } from './desktopNotifier.js';
import { NotificationCenter } from './notificationCenter.js';

export interface NotificationWiring {
  readonly clock: Clock;
  readonly store: Store;
  readonly writer: StoreWriter;
  readonly scheduler: Scheduler;
  readonly log: SchedulerLog;
  readonly desktop: DesktopNotifier | null;
}

/**
 * The notification center, joined to the scheduler: actions go to the app's running process or launch
 * it (launch reason `notificationAction`), and every process that connects gets the actions chosen
 * while it was not running. The daemon and the testing kit wire it the same way.
 */
export async function wireNotifications({
  clock,
  store,
  writer,
  scheduler,
  log,
  desktop,
}: NotificationWiring): Promise<NotificationCenter> {
  const center = await NotificationCenter.load({
    clock,
    store,
    writer,
    log,
    desktop,
    newId: createIdFactory(clock),
    installed: (appId) => scheduler.apps.get(appId) !== undefined,
    hand: (appId, actions) => scheduler.handActions(appId, actions),
    connected: (appId, instance) => scheduler.apps.get(appId)?.instances.has(instance as never) ?? false,
    launchForAction: (appId) => {
      if (scheduler.openApp(appId, 'notificationAction') === 'alreadyRunning') {
        log.warn(
          `${appId} is running but does not handle notification actions ` +
            `(notifications.onAction): the action waits for its next start`,
          { appId },
        );
      }
    },
  });
  scheduler.onDidAttach((instance) => {
    if (!instance.notificationActions) return;
    center
      .handPending(instance.appId)
      .catch((error: unknown) =>
        log.warn(
          `could not hand notification actions to ${instance.appId}: ` +
            `${error instanceof Error ? error.message : String(error)}`,
        ),
      );
  });
  return center;
}
