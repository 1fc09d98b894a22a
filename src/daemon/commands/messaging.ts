/** The control commands of background pushes and user notifications: `bgtasks push|pushes|notifications`. */
import type { PushBody } from '../../protocol/push.js';
import type { PushStored } from '../../protocol/control/index.js';
import type { ControlDeps } from '../control.js';
import { intakeCheckedPush } from '../pushIntake.js';
import type { ControlHandlers } from './handlers.js';

type MessagingCommand =
  | 'push'
  | 'pushes'
  | 'notifications'
  | 'notifications.allow'
  | 'notifications.deny'
  | 'notifications.act'
  | 'notifications.dismiss';

export function messagingCommands(deps: ControlDeps): ControlHandlers<MessagingCommand> {
  const { scheduler, store, notifications } = deps;
  return {
    // A background push from the command line (`bgtasks push`); senders use POST /v1/apps/{appId}/push.
    push: ({ appId, ...body }) => receivePush(deps, appId, body),
    pushes: async ({ appId, state, limit }) => ({
      pushes: await store.listPushes({ ...(appId ? { appId } : {}), ...(state ? { states: [state] } : {}), limit }),
      counts: appId ? await scheduler.pushCounts(appId) : null,
    }),
    notifications: async (args) => ({
      notifications: await notifications.list(args),
      requests: notifications.requests(),
      desktop: notifications.desktopKind,
    }),
    'notifications.allow': ({ appId }) => notifications.setAuthorization(appId, true),
    'notifications.deny': ({ appId }) => notifications.setAuthorization(appId, false),
    // The person chose an action on a notification (the dashboard's buttons, `bgtasks notifications act`).
    'notifications.act': ({ notificationId, actionId }) => notifications.act(notificationId, actionId),
    'notifications.dismiss': async ({ notificationId }) => {
      await notifications.dismiss(notificationId);
      return { notificationId, dismissed: true };
    },
  };
}

/**
 * Takes a push (checked against the push body's schema by the caller): resolves once it is stored.
 * @throws DaemonError `payloadTooLarge` (field `data`) past 4 KB, `unknownApp`, `notPermitted`.
 */
export function receivePush(
  deps: Pick<ControlDeps, 'scheduler' | 'clock'>,
  appId: string,
  body: PushBody,
): Promise<PushStored> {
  return intakeCheckedPush(deps.scheduler, appId, body, deps.clock.now());
}
