import { InvalidArgumentError, type Command } from 'commander';
import { NAME_PATTERN } from '../protocol/identifiers.js';
import { table, time } from './format.js';

type Row = Record<string, unknown>;
type ControlAction = (command: string, args: (...values: never[]) => Record<string, unknown>, view: string) => (...values: unknown[]) => Promise<void>;

function appId(value: string): string {
  if (!NAME_PATTERN.test(value)) throw new InvalidArgumentError(`app id must be a reverse-DNS name (letters, digits, ".", "_", "-"), got "${value}"`);
  return value;
}

function json(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch (error) {
    throw new InvalidArgumentError(`must be JSON, e.g. '{"mailbox":"inbox"}' (${error instanceof Error ? error.message : String(error)})`);
  }
}

function priority(value: string): 5 | 10 {
  if (value !== '5' && value !== '10') throw new InvalidArgumentError('must be 10 (now) or 5 (when convenient)');
  return Number(value) as 5 | 10;
}

function whole(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return parsed;
}

/**
 * `bgtasks push`, `bgtasks pushes`, `bgtasks apps token` and `bgtasks notifications`: background pushes
 * and user notifications from the command line. Each is a control command of the daemon; the views
 * are rendered by {@link renderMessaging}.
 */
export function addMessagingCommands(program: Command, apps: Command, action: ControlAction): void {
  program
    .command('push')
    .argument('<app>', 'app id', appId)
    .requiredOption('--data <json>', 'the JSON to hand the app\'s onRemoteNotification handler (at most 4 KB)', json)
    .option('--priority <n>', '10: now, unless the user force-quit the app; 5: when convenient, within its budget', priority)
    .option('--collapse-id <id>', 'a newer push with this id replaces one not yet delivered')
    .option('--expiration <seconds>', 'seconds since the epoch after which it is not delivered (0: now or never)', whole)
    .description('send a background push to an app, as a server would with POST /v1/apps/APP/push')
    .option('--json', 'print JSON')
    .action(
      action('push', (app: string, options: { data: unknown; priority?: 5 | 10; collapseId?: string; expiration?: number }) => ({
        appId: app,
        data: options.data,
        ...(options.priority ? { priority: options.priority } : {}),
        ...(options.collapseId !== undefined ? { collapseId: options.collapseId } : {}),
        ...(options.expiration !== undefined ? { expiration: options.expiration } : {}),
      }), 'pushReceipt'),
    );

  program
    .command('pushes')
    .argument('[app]', 'only this app (and its counts)', appId)
    .option('--state <state>', 'pending, delivered, collapsed, expired or failed')
    .option('--limit <n>', 'how many, newest first', whole, 50)
    .description('list background pushes and what became of each')
    .option('--json', 'print JSON')
    .action(action('pushes', (app: string | undefined, options: { state?: string; limit: number }) => ({ ...(app ? { appId: app } : {}), ...(options.state ? { state: options.state } : {}), limit: options.limit }), 'pushes'));

  apps
    .command('token')
    .argument('<app>', 'app id', appId)
    .option('--rotate', 'replace the token: the old one stops working at once')
    .description('print the push token senders present as "Authorization: Bearer TOKEN"')
    .option('--json', 'print JSON')
    .action(action('apps.token', (app: string, options: { rotate?: boolean }) => ({ appId: app, rotate: Boolean(options.rotate) }), 'pushToken'));

  const notifications = program.command('notifications').description('list the notifications apps posted, and the apps that ask to post').argument('[app]', 'only this app', appId).option('--limit <n>', 'how many, newest first', whole, 50).option('--json', 'print JSON');
  notifications.action(action('notifications', (app: string | undefined, options: { limit: number }) => ({ ...(app ? { appId: app } : {}), limit: options.limit }), 'notifications'));
  for (const verb of ['allow', 'deny'] as const) {
    notifications
      .command(verb)
      .argument('<app>', 'app id', appId)
      .description(`${verb} the app's notifications`)
      .option('--json', 'print JSON')
      .action(action(`notifications.${verb}`, (app: string) => ({ appId: app }), 'raw'));
  }
  notifications
    .command('act')
    .argument('<notification>', 'notification id')
    .argument('<action>', 'one of its action ids, or "default" for the notification itself')
    .description('choose an action on a notification, as the person would: the app gets it (launched if need be)')
    .option('--json', 'print JSON')
    .action(action('notifications.act', (notificationId: string, actionId: string) => ({ notificationId, actionId }), 'raw'));
  notifications
    .command('dismiss')
    .argument('<notification>', 'notification id')
    .description('dismiss a notification')
    .option('--json', 'print JSON')
    .action(action('notifications.dismiss', (notificationId: string) => ({ notificationId }), 'raw'));
}

/** The tables and lines of the views above; undefined for another view. */
export function renderMessaging(view: string, data: unknown): string | undefined {
  switch (view) {
    case 'pushReceipt': {
      const receipt = data as Row;
      const collapsed = receipt.collapsed ? `; it replaced ${String(receipt.collapsed)} (${String(receipt.collapsedCount)} collapsed in all)` : '';
      return `push ${String(receipt.id)} stored for ${String(receipt.appId)} (number ${String(receipt.seq)})${collapsed}`;
    }
    case 'pushes': {
      const { pushes, counts } = data as { pushes: Row[]; counts: Row | null };
      const rows = table(pushes.map((push) => ({
        ...push,
        received: time(push.receivedAt),
        outcome: push.state === 'delivered' ? `delivered: ${String(push.result)}` : push.state,
        why: push.reason ?? '',
      })), ['seq', 'appId', 'pushId', 'priority', 'collapseId', 'received', 'attempts', 'outcome', 'why']);
      if (!counts) return rows;
      return `${rows}\n${Object.entries(counts).map(([state, count]) => `${state} ${String(count)}`).join(', ')}`;
    }
    case 'pushToken':
      return String((data as Row).token);
    case 'notifications': {
      const { notifications, requests, desktop } = data as { notifications: Row[]; requests: Row[]; desktop: string };
      const lines = [table(notifications.map((notification) => ({
        ...notification,
        posted: time(notification.postedAt),
        actions: (notification.actions as Row[]).map((action) => String(action.id)).join(', '),
        answer: notification.state === 'actioned' ? `chose ${String(notification.actionId)}${notification.handedAt ? '' : ' (waiting for the app)'}` : notification.state,
      })), ['notificationId', 'posted', 'appId', 'title', 'body', 'actions', 'answer', 'desktop'])];
      for (const request of requests) lines.push(`${String(request.appId)} asks to post notifications: bgtasks notifications allow ${String(request.appId)} (or deny)`);
      lines.push(`desktop notifications: ${desktop}`);
      return lines.join('\n');
    }
    default:
      return undefined;
  }
}
