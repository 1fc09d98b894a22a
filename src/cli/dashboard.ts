import { spawn } from 'node:child_process';
import { readDashboardFile, type DashboardFile } from '../daemon/http/dashboardFile.js';
import { SIGN_IN_CODES_PATH } from '../daemon/http/signInCodes.js';
import { homePaths } from '../shared/paths.js';
import { CliError, ControlClient } from './controlClient.js';

export interface DashboardCommandOptions {
  readonly home: string;
  /** false with `--no-open`. */
  readonly open: boolean;
  readonly json: boolean;
}

/**
 * `bgtasks dashboard`: prints the dashboard's address with its token and opens it in the browser. The
 * file alone is not trusted: a daemon that crashed leaves it behind, so the running daemon is asked
 * where its dashboard is, and the file must agree.
 */
export async function runDashboard(options: DashboardCommandOptions): Promise<void> {
  const file = readDashboardFile(options.home);
  const status = await daemonStatus(options.home, file !== null);
  if (!status.dashboard) {
    throw new CliError(
      'dashboardDisabled',
      'the daemon serves no dashboard: it was started with --no-http, or its port ' + 'was taken (see its log)',
    );
  }
  if (!file || file.url !== status.dashboard.url) {
    throw new CliError(
      'daemonNotRunning',
      `${homePaths(options.home).runDir}/dashboard.json does not match the running ` +
        `daemon; restart it with \`bgtasks daemon\``,
    );
  }
  // Printed (stdout is the user's own), never passed to the opener: its argv is visible to every local user.
  const address = `${file.url}?token=${file.token}`;
  const opened = options.open ? await openInBrowser(() => signInAddress(file)) : null;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ url: address, port: file.port, opened: opened !== null }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${address}\n`);
  if (opened)
    process.stderr.write(
      `opened with ${opened} (with a one-time code); the token in the address ` +
        `changes every time the daemon starts\n`,
    );
  else if (options.open)
    process.stderr.write('no display to open a browser on: paste the address above into one on this ' + 'machine\n');
}

async function daemonStatus(home: string, haveFile: boolean): Promise<{ dashboard?: { url: string } | null }> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(homePaths(home).socket);
  } catch (error) {
    if (error instanceof CliError && error.code === 'daemonNotRunning' && haveFile) {
      throw new CliError(
        'daemonNotRunning',
        `no bgtasks daemon is running for ${home} (its dashboard file is left from ` +
          `one that stopped): start one with \`bgtasks daemon\``,
      );
    }
    throw error;
  }
  try {
    return await client.call('status', {});
  } finally {
    client.close();
  }
}

/**
 * The address for the browser opener: the page with a one-time code (see SignInCodes), which the daemon
 * exchanges for the session cookie once, within seconds. The token itself travels in a request header.
 */
async function signInAddress(file: DashboardFile): Promise<string> {
  let response: Response;
  try {
    response = await fetch(new URL(SIGN_IN_CODES_PATH, file.url), {
      method: 'POST',
      headers: { Authorization: `Bearer ${file.token}` },
    });
  } catch (error) {
    throw new CliError('daemonUnreachable', `cannot reach the dashboard at ${file.url}: ${(error as Error).message}`);
  }
  const body = (await response.json().catch(() => null)) as { code?: unknown } | null;
  if (!response.ok || typeof body?.code !== 'string') {
    throw new CliError(
      'daemonUnreachable',
      `the dashboard at ${file.url} gave no sign-in code (HTTP ${response.status})`,
    );
  }
  return `${file.url}?code=${encodeURIComponent(body.code)}`;
}

/**
 * Opens the address with the desktop's opener, detached, when there is a desktop to open it on (an SSH
 * session has none). Resolves to the opener's name once it has started, or null. A missing opener is
 * not an error: the address is printed anyway.
 */
async function openInBrowser(address: () => Promise<string>): Promise<string | null> {
  const opener =
    process.platform === 'darwin' ? 'open' : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? 'xdg-open' : null;
  if (!opener) return null;
  const url = await address();
  return new Promise((resolve) => {
    const child = spawn(opener, [url], { detached: true, stdio: 'ignore' });
    child.once('spawn', () => resolve(opener));
    child.once('error', () => resolve(null));
    child.unref();
  });
}
