/**
 * Showing an app's notification on the desktop through the OS's notification service, and hearing
 * which action button the person chose. Linux desktops speak the freedesktop Desktop Notifications
 * Specification on the session D-Bus (freedesktopNotifier.ts); macOS gets a best-effort `osascript`
 * (darwinNotifier.ts); anything else has no notifier. Posting never throws: a notification the
 * desktop cannot show resolves `shown: false` with the reason, for the daemon to log or report.
 */
import type { Disposable } from '../../engine/clock.js';
import { sessionBusAddress } from '../../conditions/dbusConnection.js';
import { createDarwinNotifier } from './darwinNotifier.js';
import { FreedesktopNotifier } from './freedesktopNotifier.js';

export interface DesktopNotification {
  /** Our notification id, given back in onAction. */
  readonly key: string;
  /** The app's name (its appId) shown as the sender. */
  readonly appName: string;
  readonly title: string;
  readonly body: string;
  readonly actions: readonly { readonly id: string; readonly title: string }[];
}

export interface DesktopPostResult {
  readonly shown: boolean;
  /** why not, or which service showed it */
  readonly detail: string;
}

export interface DesktopNotifier extends Disposable {
  /** 'freedesktop' (D-Bus org.freedesktop.Notifications on the session bus), 'macos' (osascript), or 'none'. */
  readonly kind: 'freedesktop' | 'macos' | 'none';
  /** Shows the notification; never rejects (a missing service resolves to shown:false with the reason). */
  post(notification: DesktopNotification): Promise<DesktopPostResult>;
  /**
   * The person chose an action (`actionId` is one of the notification's action ids, or 'default' for a click on its
   * body).
   */
  onAction(listener: (key: string, actionId: string) => void): Disposable;
}

export interface DesktopNotifierOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly platform?: NodeJS.Platform;
  readonly log?: {
    warn(message: string, fields?: Record<string, unknown>): void;
    info(message: string, fields?: Record<string, unknown>): void;
  };
}

/**
 * The notifier for this machine. On Linux the session bus is looked up once, here: with none (a
 * headless server, a container, a daemon started outside any login session) the notifier is kind
 * 'none' and every post says why. Nothing connects until the first post.
 */
export function createDesktopNotifier(options: DesktopNotifierOptions = {}): DesktopNotifier {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  if (platform === 'linux') {
    const address = sessionBusAddress(env);
    if (address !== null) return new FreedesktopNotifier({ address, log: options.log });
    const reason = env.DBUS_SESSION_BUS_ADDRESS
      ? `DBUS_SESSION_BUS_ADDRESS (${env.DBUS_SESSION_BUS_ADDRESS}) has no unix: ` +
        `address and there is no $XDG_RUNTIME_DIR/bus`
      : env.XDG_RUNTIME_DIR
        ? `DBUS_SESSION_BUS_ADDRESS is not set and ${env.XDG_RUNTIME_DIR}/bus is not a socket`
        : 'neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set';
    return createNoneNotifier(`no D-Bus session bus to reach a notification service: ${reason}`);
  }
  if (platform === 'darwin') return createDarwinNotifier({ env, log: options.log });
  return createNoneNotifier(`desktop notifications are not supported on ${platform}`);
}

/** A notifier that shows nothing and says why each time. */
function createNoneNotifier(reason: string): DesktopNotifier {
  return {
    kind: 'none',
    post: () => Promise.resolve({ shown: false, detail: reason }),
    onAction: () => ({ dispose: () => undefined }),
    dispose: () => undefined,
  };
}
