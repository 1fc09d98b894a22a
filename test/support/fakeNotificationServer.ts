/**
 * A private D-Bus session bus (a real `dbus-daemon` child process) and a fake desktop notification
 * server on it, so the desktop notifier is tested against real D-Bus traffic without a desktop:
 *
 *   const bus = await startPrivateSessionBus();          // undefined-safe: check findDbusDaemon() first
 *   const server = await startFakeNotificationServer(bus.address);
 *   … post through a notifier created with env { DBUS_SESSION_BUS_ADDRESS: bus.address } …
 *   server.notifications[0].summary; server.invokeAction(id, 'snooze');
 *   server.stop(); await bus.stop();
 *
 * The bus has its own config (no service directories), so nothing installed on the machine is ever
 * D-Bus-activated by a test, and it listens on a socket in a fresh temporary directory.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DBusConnection, DBusError, type DBusMethodCall } from '../../src/conditions/dbusConnection.js';

export const NOTIFICATIONS_NAME = 'org.freedesktop.Notifications';
export const NOTIFICATIONS_PATH = '/org/freedesktop/Notifications';
const BUS = {
  destination: 'org.freedesktop.DBus',
  path: '/org/freedesktop/DBus',
  interface: 'org.freedesktop.DBus',
} as const;

/** The `dbus-daemon` executable, or undefined when this machine has none (tests then skip). */
export function findDbusDaemon(): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', 'command -v dbus-daemon'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

export interface PrivateSessionBus {
  /** The address dbus-daemon printed (`unix:path=…,guid=…`). */
  readonly address: string;
  readonly pid: number;
  /** Whether the dbus-daemon process is still running. */
  readonly running: boolean;
  /** Stops dbus-daemon (SIGTERM, then SIGKILL after 2 s) and removes its directory. */
  stop(): Promise<void>;
}

/** Starts `dbus-daemon --nofork` on a socket in a new temporary directory and resolves once it listens. */
export async function startPrivateSessionBus(
  executable = findDbusDaemon() ?? 'dbus-daemon',
): Promise<PrivateSessionBus> {
  const dir = mkdtempSync(join(tmpdir(), 'bgtasks-session-bus-'));
  const config = join(dir, 'session.conf');
  writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>unix:path=${join(dir, 'bus')}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>`,
  );
  const child = spawn(executable, [`--config-file=${config}`, '--nofork', '--print-address'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A safety net for a test run that ends without its `after` hook: never leave a bus behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exit.then(() => {
    exited = true;
    process.off('exit', killOnExit);
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const address = await new Promise<string>((resolve, reject) => {
      let output = '';
      let errors = '';
      child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('\n')) resolve(output.split('\n')[0]!.trim());
      });
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`dbus-daemon exited (${String(code)}) before listening: ${errors.trim()}`)),
      );
      setTimeout(() => reject(new Error('dbus-daemon did not print its address within 5 s')), 5_000).unref();
    });
    return {
      address,
      pid: child.pid!,
      get running() {
        return !exited;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One `Notify` call as the server received it. */
export interface NotifyCall {
  /** The id the server answered with. */
  readonly id: number;
  /** The caller's unique bus name. */
  readonly sender: string | undefined;
  readonly appName: string;
  readonly replacesId: number;
  readonly appIcon: string;
  readonly summary: string;
  readonly body: string;
  /** Flat [key, label, key, label, …] as sent. */
  readonly actions: readonly string[];
  /** Hints with their variants unwrapped (`urgency` → 1). */
  readonly hints: ReadonlyMap<string, unknown>;
  readonly expireTimeout: number;
}

export interface FakeNotificationServerOptions {
  /** What GetCapabilities answers. @default ['actions', 'body'] */
  readonly capabilities?: readonly string[];
}

export interface FakeNotificationServer {
  /** The server's own connection (to ask the bus things, e.g. `NameHasOwner`). */
  readonly connection: DBusConnection;
  /** Every Notify, in order. */
  readonly notifications: readonly NotifyCall[];
  /** The ids passed to CloseNotification. */
  readonly closeRequests: readonly number[];
  /** Every method called on the server (`Notify`, `GetCapabilities`, …), in order. */
  readonly calls: readonly string[];
  /** Emits `ActionInvoked(id, actionKey)`, broadcast, or only to `destination` as GNOME Shell does. */
  invokeAction(id: number, actionKey: string, destination?: string): void;
  /** Emits `NotificationClosed(id, reason)`; reason 1 expired, 2 dismissed, 3 closed by a call, 4 other. */
  closeNotification(id: number, reason?: number): void;
  /** Disconnects, which releases the name: callers then get ServiceUnknown. */
  stop(): void;
}

/** Connects to `address`, answers the notification methods and takes `org.freedesktop.Notifications`. */
export async function startFakeNotificationServer(
  address: string,
  options: FakeNotificationServerOptions = {},
): Promise<FakeNotificationServer> {
  const capabilities = [...(options.capabilities ?? ['actions', 'body'])];
  const connection = await DBusConnection.connect(address);
  const notifications: NotifyCall[] = [];
  const closeRequests: number[] = [];
  const calls: string[] = [];
  let lastId = 0;

  const emit = (member: string, signature: string, body: unknown[], destination?: string) => {
    connection.emitSignal({
      path: NOTIFICATIONS_PATH,
      interface: NOTIFICATIONS_NAME,
      member,
      signature,
      body,
      destination,
    });
  };

  // Installed before RequestName, so the first call after the name is ours is answered.
  connection.handleMethodCalls((call: DBusMethodCall) => {
    if (call.path !== NOTIFICATIONS_PATH || call.interface !== NOTIFICATIONS_NAME) return undefined;
    calls.push(call.member ?? '');
    switch (call.member) {
      case 'GetCapabilities':
        return { signature: 'as', body: [capabilities] };
      case 'GetServerInformation':
        return { signature: 'ssss', body: ['bgtasks-fake', 'bgtasks', '1.0', '1.2'] };
      case 'Notify': {
        const [appName, replacesId, appIcon, summary, body, actions, hints, expireTimeout] = call.body as [
          string,
          number,
          string,
          string,
          string,
          string[],
          Map<string, unknown>,
          number,
        ];
        // As the spec says: a known replaces_id keeps its id, anything else gets a new one.
        const id = replacesId !== 0 && notifications.some((n) => n.id === replacesId) ? replacesId : ++lastId;
        notifications.push({
          id,
          sender: call.sender,
          appName,
          replacesId,
          appIcon,
          summary,
          body,
          actions,
          hints,
          expireTimeout,
        });
        return { signature: 'u', body: [id] };
      }
      case 'CloseNotification': {
        const id = Number(call.body[0]);
        closeRequests.push(id);
        emit('NotificationClosed', 'uu', [id, 3]);
        return {};
      }
      default:
        throw new DBusError('org.freedesktop.DBus.Error.UnknownMethod', `No method ${String(call.member)}`);
    }
  });

  const DO_NOT_QUEUE = 4;
  const PRIMARY_OWNER = 1;
  const [reply] = await connection.call({
    ...BUS,
    member: 'RequestName',
    signature: 'su',
    body: [NOTIFICATIONS_NAME, DO_NOT_QUEUE],
  });
  if (reply !== PRIMARY_OWNER) {
    connection.dispose();
    throw new Error(`Could not own ${NOTIFICATIONS_NAME} (RequestName answered ${String(reply)})`);
  }
  return {
    connection,
    notifications,
    closeRequests,
    calls,
    invokeAction: (id, actionKey, destination) => emit('ActionInvoked', 'us', [id, actionKey], destination),
    closeNotification: (id, reason = 2) => emit('NotificationClosed', 'uu', [id, reason]),
    stop: () => connection.dispose(),
  };
}

/** Asks the bus whether `name` (a unique `:1.N` name, say) is connected. */
export async function nameHasOwner(connection: DBusConnection, name: string): Promise<boolean> {
  const [owned] = await connection.call({ ...BUS, member: 'NameHasOwner', signature: 's', body: [name] });
  return owned === true;
}
