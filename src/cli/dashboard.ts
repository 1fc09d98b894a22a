import { spawn } from 'node:child_process';
import { readDashboardFile } from '../daemon/http/dashboardFile.js';
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
    throw new CliError('dashboardDisabled', 'the daemon serves no dashboard: it was started with --no-http, or its port was taken (see its log)');
  }
  if (!file || file.url !== status.dashboard.url) {
    throw new CliError('daemonNotRunning', `${homePaths(options.home).runDir}/dashboard.json does not match the running daemon; restart it with \`bgtasks daemon\``);
  }
  const address = `${file.url}?token=${file.token}`;
  const opened = options.open ? await openInBrowser(address) : null;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ url: address, port: file.port, opened: opened !== null }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${address}\n`);
  if (opened) process.stderr.write(`opened with ${opened}; the token in the address changes every time the daemon starts\n`);
  else if (options.open) process.stderr.write('no display to open a browser on: paste the address above into one on this machine\n');
}

async function daemonStatus(home: string, haveFile: boolean): Promise<{ dashboard?: { url: string } | null }> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(homePaths(home).socket);
  } catch (error) {
    if (error instanceof CliError && error.code === 'daemonNotRunning' && haveFile) {
      throw new CliError('daemonNotRunning', `no bgtasks daemon is running for ${home} (its dashboard file is left from one that stopped): start one with \`bgtasks daemon\``);
    }
    throw error;
  }
  try {
    return await client.request<{ dashboard?: { url: string } | null }>('status');
  } finally {
    client.close();
  }
}

/**
 * Opens the address with the desktop's opener, detached, when there is a desktop to open it on (an SSH
 * session has none). Resolves to the opener's name once it has started, or null. A missing opener is
 * not an error: the address is printed anyway.
 */
function openInBrowser(address: string): Promise<string | null> {
  const opener = process.platform === 'darwin' ? 'open' : process.env.DISPLAY || process.env.WAYLAND_DISPLAY ? 'xdg-open' : null;
  if (!opener) return Promise.resolve(null);
  return new Promise((resolve) => {
    const child = spawn(opener, [address], { detached: true, stdio: 'ignore' });
    child.once('spawn', () => resolve(opener));
    child.once('error', () => resolve(null));
    child.unref();
  });
}
