/**
 * Desktop notifications on macOS through `osascript -e 'display notification …'`, the one way to
 * reach Notification Center without a signed app bundle. It cannot offer action buttons or report
 * clicks (AppleScript notifications have neither, and a click opens Script Editor), so onAction
 * never fires here. Unverified on a real Mac in this repository's CI: kept deliberately small.
 */
import { execFile } from 'node:child_process';

import type {
  DesktopNotification,
  DesktopNotifier,
  DesktopNotifierOptions,
  DesktopPostResult,
} from './desktopNotifier.js';

/** osascript normally answers in well under a second; a hung one must not hold a post for ever. */
const OSASCRIPT_TIMEOUT_MS = 10_000;

/** An AppleScript string literal: backslashes and double quotes escaped, everything else as is. */
export function appleScriptString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The script that shows `notification`: the app's name goes in the subtitle, as the sender is always "Script Editor".
 */
export function displayNotificationScript(notification: DesktopNotification): string {
  return (
    `display notification ${appleScriptString(notification.body)} with title ` +
    `${appleScriptString(notification.title)} subtitle ` +
    `${appleScriptString(notification.appName)}`
  );
}

export function createDarwinNotifier(options: Pick<DesktopNotifierOptions, 'env' | 'log'> = {}): DesktopNotifier {
  let disposed = false;
  const post = (notification: DesktopNotification): Promise<DesktopPostResult> =>
    new Promise((resolve) => {
      if (disposed) return resolve({ shown: false, detail: 'the desktop notifier is disposed' });
      try {
        execFile(
          'osascript',
          ['-e', displayNotificationScript(notification)],
          { env: options.env, timeout: OSASCRIPT_TIMEOUT_MS },
          (error, _stdout, stderr) => {
            if (!error) return resolve({ shown: true, detail: 'shown by Notification Center (osascript)' });
            const detail = `osascript could not show the notification: ${String(stderr).trim() || error.message}`;
            options.log?.warn('desktop notification not shown', { detail });
            resolve({ shown: false, detail });
          },
        );
      } catch (error) {
        // execFile throws synchronously for arguments it refuses (a NUL byte in the text).
        resolve({
          shown: false,
          detail: `osascript could not be started: ` + `${error instanceof Error ? error.message : String(error)}`,
        });
      }
    });
  return {
    kind: 'macos',
    post,
    onAction: () => ({ dispose: () => undefined }),
    dispose: () => void (disposed = true),
  };
}
