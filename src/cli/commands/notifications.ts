/** `bgtasks notifications [APP]`: what apps posted and who asks to post; `allow|deny|act|dismiss` answer them. */
import type { Command } from 'commander';
import type { NotificationsResult } from '../../protocol/control/index.js';
import { appId, whole } from '../arguments.js';
import { callAndPrint } from '../controlAction.js';
import { keyValueLines, table, time } from '../format.js';

const COLUMNS = ['notificationId', 'posted', 'appId', 'title', 'body', 'actions', 'answer', 'desktop'];

export function addNotificationsCommand(program: Command): void {
  const notifications = program
    .command('notifications')
    .description('list the notifications apps posted, and the apps that ask to post')
    .argument('[app]', 'only this app', appId)
    .option('--limit <n>', 'how many, newest first', whole, 50)
    .option('--json', 'print JSON');
  notifications.action((app: string | undefined, options: { limit: number }, command: Command) => {
    const args = { ...(app ? { appId: app } : {}), limit: options.limit };
    return callAndPrint(command, 'notifications', args, renderNotifications);
  });
  for (const verb of ['allow', 'deny'] as const) {
    notifications
      .command(verb)
      .argument('<app>', 'app id', appId)
      .description(`${verb} the app's notifications`)
      .option('--json', 'print JSON')
      .action((app: string, _options: unknown, command: Command) =>
        callAndPrint(command, `notifications.${verb}`, { appId: app }, keyValueLines),
      );
  }
  notifications
    .command('act')
    .argument('<notification>', 'notification id')
    .argument('<action>', 'one of its action ids, or "default" for the notification itself')
    .description('choose an action on a notification, as the person would: the app gets it (launched if need be)')
    .option('--json', 'print JSON')
    .action((notificationId: string, actionId: string, _options: unknown, command: Command) =>
      callAndPrint(command, 'notifications.act', { notificationId, actionId }, keyValueLines),
    );
  notifications
    .command('dismiss')
    .argument('<notification>', 'notification id')
    .description('dismiss a notification')
    .option('--json', 'print JSON')
    .action((notificationId: string, _options: unknown, command: Command) =>
      callAndPrint(command, 'notifications.dismiss', { notificationId }, keyValueLines),
    );
}

function renderNotifications({ notifications, requests, desktop }: NotificationsResult): string {
  const lines = [
    table(
      notifications.map((notification) => ({
        ...notification,
        posted: time(notification.postedAt),
        actions: notification.actions.map((action) => action.id).join(', '),
        answer:
          notification.state === 'actioned'
            ? `chose ${String(notification.actionId)}${notification.handedAt ? '' : ' (waiting for the app)'}`
            : notification.state,
      })),
      COLUMNS,
    ),
  ];
  for (const request of requests) {
    lines.push(`${request.appId} asks to post notifications: bgtasks notifications allow ${request.appId} (or deny)`);
  }
  lines.push(`desktop notifications: ${desktop}`);
  return lines.join('\n');
}
