import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { CommandResult, CommandRunner } from '../../src/service/commandRunner.js';
import { ServiceError } from '../../src/service/serviceErrors.js';
import {
  installService,
  resolveRunAs,
  serviceStatus,
  uninstallService,
  type ServiceHost,
} from '../../src/service/serviceManager.js';
import { serviceFilePath } from '../../src/service/servicePaths.js';
import {
  buildServiceSpec,
  daemonArguments,
  readDaemonArguments,
  type ServiceSpecInput,
} from '../../src/service/serviceSpec.js';

const dir = mkdtempSync(join(tmpdir(), 'bgt-svc-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function isServiceError(code: string, field?: string) {
  return (error: unknown): boolean =>
    error instanceof ServiceError && error.code === code && (field === undefined || error.field === field);
}

const base: ServiceSpecInput = {
  platform: 'linux',
  scope: 'user',
  nodePath: '/usr/bin/node',
  cliPath: '/opt/bgtasks/dist/cli/main.js',
  home: '/home/ana/.local/state/bgtasks',
  configFile: null,
  runAs: null,
  documentation: null,
};

describe('serviceSpec', () => {
  it('refuses relative paths, control characters and a home too long for the socket, naming the field', () => {
    assert.throws(
      () => buildServiceSpec({ ...base, home: 'relative/home' }),
      isServiceError('invalidArgument', 'home'),
    );
    assert.throws(
      () => buildServiceSpec({ ...base, configFile: '/etc/a\nb.json' }),
      isServiceError('unsupportedPath', 'config'),
    );
    assert.throws(
      () => buildServiceSpec({ ...base, home: `/${'h'.repeat(100)}` }),
      isServiceError('invalidArgument', 'home'),
    );
    assert.throws(
      () => buildServiceSpec({ ...base, scope: 'system', runAs: 'a b' }),
      isServiceError('invalidArgument', 'user'),
    );
  });

  it('reads back the daemon arguments it writes, and nothing else', () => {
    const withConfig = { ...base, configFile: '/etc/bgtasks.json' };
    assert.deepEqual(readDaemonArguments(daemonArguments(withConfig)), {
      nodePath: base.nodePath,
      cliPath: base.cliPath,
      home: base.home,
      configFile: '/etc/bgtasks.json',
    });
    assert.equal(readDaemonArguments(['/usr/bin/node', 'x.js', '--home', '/h', '--verbose', 'daemon']), null);
    assert.equal(readDaemonArguments(['/usr/bin/node', 'x.js', 'daemon']), null);
  });
});

describe('serviceManager: whom a system service runs as', () => {
  it('--user only with --system', () => {
    assert.throws(() => resolveRunAs('user', 'ana', {}, 'ana'), isServiceError('invalidArgument', 'user'));
    assert.equal(resolveRunAs('user', null, {}, 'ana'), null);
  });

  it('--user, else the user behind sudo, else this user; root only when named', () => {
    assert.equal(resolveRunAs('system', 'svc', { SUDO_USER: 'ana' }, 'root'), 'svc');
    assert.equal(resolveRunAs('system', null, { SUDO_USER: 'ana' }, 'root'), 'ana');
    assert.equal(resolveRunAs('system', null, {}, 'ana'), 'ana');
    assert.throws(() => resolveRunAs('system', null, {}, 'root'), isServiceError('invalidArgument', 'user'));
    assert.throws(
      () => resolveRunAs('system', null, { SUDO_USER: 'root' }, 'root'),
      isServiceError('invalidArgument', 'user'),
    );
    assert.equal(resolveRunAs('system', 'root', {}, 'root'), 'root');
  });
});

describe('serviceManager: where the file goes', () => {
  it('the XDG config directory when it is absolute, else ~/.config; system paths under BGTASKS_SERVICE_ROOT', () => {
    assert.equal(
      serviceFilePath('linux', 'user', { HOME: '/home/ana', XDG_CONFIG_HOME: '/cfg' }),
      '/cfg/systemd/user/bgtasks.service',
    );
    assert.equal(
      serviceFilePath('linux', 'user', { HOME: '/home/ana', XDG_CONFIG_HOME: 'relative' }),
      '/home/ana/.config/systemd/user/bgtasks.service',
    );
    assert.equal(serviceFilePath('linux', 'system', {}), '/etc/systemd/system/bgtasks.service');
    assert.equal(
      serviceFilePath('darwin', 'system', { BGTASKS_SERVICE_ROOT: '/tmp/root' }),
      '/tmp/root/Library/LaunchDaemons/dev.bgtasks.daemon.plist',
    );
    assert.equal(
      serviceFilePath('darwin', 'user', { HOME: '/Users/ana' }),
      '/Users/ana/Library/LaunchAgents/dev.bgtasks.daemon.plist',
    );
    assert.throws(
      () => serviceFilePath('linux', 'system', { BGTASKS_SERVICE_ROOT: 'rel' }),
      isServiceError('invalidArgument'),
    );
  });
});

/**
 * The macOS flow end to end but for launchctl itself, which cannot run on Linux: a stand-in answers
 * as launchctl does and `id` answers for one user. Files go to a temporary HOME.
 */
class MacStandIn implements CommandRunner {
  readonly calls: string[] = [];
  loaded = false;
  async run(command: string, args: readonly string[]): Promise<CommandResult> {
    this.calls.push([command, ...args].join(' '));
    if (command === 'id')
      return args[1] === 'ana'
        ? { code: 0, stdout: args[0] === '-u' ? '501\n' : '20\n', stderr: '' }
        : { code: 1, stdout: '', stderr: `id: ${args[1]}: no such user\n` };
    if (args[0] === 'print')
      return args[1]!.endsWith('dev.bgtasks.daemon') && !this.loaded
        ? { code: 113, stdout: '', stderr: 'Could not find service\n' }
        : { code: 0, stdout: 'state = running\npid = 77\nruns = 1\n', stderr: '' };
    if (args[0] === 'print-disabled') return { code: 0, stdout: '', stderr: '' };
    if (args[0] === 'bootstrap') this.loaded = true;
    if (args[0] === 'bootout') this.loaded = false;
    return { code: 0, stdout: '', stderr: '' };
  }
}

describe('serviceManager: install, status, uninstall (macOS, launchctl stood in for)', () => {
  const userHome = join(dir, 'Users', 'ana');
  const runner = new MacStandIn();
  const host: ServiceHost = {
    platform: 'darwin',
    env: { HOME: userHome, BGTASKS_SERVICE_ROOT: join(dir, 'root') },
    runner,
    uid: 501,
    userName: 'ana',
    nodePath: '/opt/homebrew/bin/node',
    cliPath: '/opt/homebrew/lib/bgtasks/dist/cli/main.js',
    documentation: null,
  };
  const home = join(dir, 'state', 'bgtasks');
  const target = { scope: 'user' as const, home, configFile: null, user: null };
  const file = join(userHome, 'Library', 'LaunchAgents', 'dev.bgtasks.daemon.plist');

  it('install writes the agent (0644), makes the log directory launchd opens, and loads it', async () => {
    const result = await installService(host, target, { start: true });
    assert.equal(result.file, file);
    assert.equal(result.changed, true);
    assert.equal(result.started, true);
    assert.equal(statSync(file).mode & 0o777, 0o644);
    assert.ok(statSync(join(home, 'logs')).isDirectory());
    assert.ok(runner.calls.includes(`launchctl bootstrap gui/501 ${file}`));
    assert.match(readFileSync(file, 'utf8'), /<key>RunAtLoad<\/key>/);
  });

  it("status: current, loaded, with the daemon's home read from the file", async () => {
    const status = await serviceStatus(host, { ...target, home: '/elsewhere' });
    assert.equal(status.installed, true);
    assert.equal(status.current, true);
    assert.equal(status.home, home);
    assert.equal(status.manager?.active, 'running');
    assert.equal(status.manager?.mainPid, 77);
  });

  it('status after a Node.js upgrade: stale, saying which node it runs and that it is gone', async () => {
    const status = await serviceStatus({ ...host, nodePath: '/opt/homebrew/Cellar/node/24/bin/node' }, target);
    assert.equal(status.current, false);
    assert.match(
      status.staleReasons.join(),
      /it runs Node\.js \/opt\/homebrew\/bin\/node \(which no longer exists\), this bgtasks runs on \/opt\/homebrew\/Cellar\/node\/24\/bin\/node/,
    );
  });

  it('a system daemon for a user who does not exist is refused before anything is written', async () => {
    await assert.rejects(
      installService(host, { scope: 'system', home, configFile: null, user: 'nobody-here' }, { start: true }),
      isServiceError('invalidArgument', 'user'),
    );
    assert.equal(existsSync(join(dir, 'root', 'Library', 'LaunchDaemons', 'dev.bgtasks.daemon.plist')), false);
  });

  it('uninstall boots it out and removes the file; again, there is nothing to do', async () => {
    runner.calls.length = 0;
    const removed = await uninstallService(host, 'user');
    assert.equal(removed.removed, true);
    assert.ok(runner.calls.includes('launchctl bootout gui/501/dev.bgtasks.daemon'));
    assert.equal(existsSync(file), false);
    assert.equal((await uninstallService(host, 'user')).removed, false);
    assert.equal((await serviceStatus(host, target)).installed, false);
  });
});
