import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import type { CommandResult, CommandRunner } from '../../src/service/commandRunner.js';
import { LaunchdController } from '../../src/service/launchdController.js';
import { escapeXml, parsePlist, readLaunchdJob, renderLaunchdPlist } from '../../src/service/launchdPlist.js';
import { buildServiceSpec, type ServiceSpecInput } from '../../src/service/serviceSpec.js';

function input(overrides: Partial<ServiceSpecInput> = {}): ServiceSpecInput {
  return {
    platform: 'darwin',
    scope: 'user',
    nodePath: '/opt/homebrew/bin/node',
    cliPath: '/opt/homebrew/lib/node_modules/bgtasks/dist/cli/main.js',
    home: '/Users/ana/.local/state/bgtasks',
    configFile: null,
    runAs: null,
    documentation: null,
    ...overrides,
  };
}

describe('launchdPlist: the job', () => {
  it('a user agent: runs the daemon at load, again after an unsuccessful exit, logs under the home', () => {
    const plist = parsePlist(renderLaunchdPlist(buildServiceSpec(input())));
    assert.deepEqual(plist, {
      Label: 'dev.bgtasks.daemon',
      ProgramArguments: [
        '/opt/homebrew/bin/node',
        '/opt/homebrew/lib/node_modules/bgtasks/dist/cli/main.js',
        '--home',
        '/Users/ana/.local/state/bgtasks',
        'daemon',
      ],
      EnvironmentVariables: { PATH: '/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin' },
      RunAtLoad: true,
      KeepAlive: { SuccessfulExit: false },
      ThrottleInterval: 5,
      ExitTimeOut: 30,
      StandardOutPath: '/Users/ana/.local/state/bgtasks/logs/daemon.log',
      StandardErrorPath: '/Users/ana/.local/state/bgtasks/logs/daemon.log',
    });
  });

  it('a system daemon names its UserName; a user agent has none', () => {
    const system = readLaunchdJob(
      parsePlist(
        renderLaunchdPlist(buildServiceSpec(input({ scope: 'system', runAs: 'ana', home: '/var/lib/bgtasks' }))),
      ),
    );
    assert.equal(system.userName, 'ana');
    assert.equal(readLaunchdJob(parsePlist(renderLaunchdPlist(buildServiceSpec(input())))).userName, null);
  });

  it('escapes every string: what is read back is exactly what was given', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 20 }).filter((text) => !/\p{Cc}/u.test(text)),
        fc.constantFrom('&', '<', '>', '"', "'", '&amp;', ']]>', '<!--'),
        (text, special) => {
          const home = `/Users/ana/${text}${special}${text}`;
          fc.pre(Buffer.byteLength(home) < 80); // the daemon's socket path must fit (buildServiceSpec checks it)
          const job = readLaunchdJob(
            parsePlist(renderLaunchdPlist(buildServiceSpec(input({ home, configFile: `/etc/${special}.json` })))),
          );
          assert.deepEqual(job.programArguments, [
            input().nodePath,
            input().cliPath,
            '--home',
            home,
            '--config',
            `/etc/${special}.json`,
            'daemon',
          ]);
        },
      ),
      { numRuns: 300 },
    );
    assert.equal(escapeXml(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  });
});

describe('launchdPlist: the reader refuses what is not well-formed', () => {
  const cases: [string, string][] = [
    ['a mismatched close', '<plist version="1.0"><dict><key>a</key><string>x</array></dict></plist>'],
    ['an unclosed element', '<plist version="1.0"><dict><key>a</key><string>x</string></plist>'],
    ['a raw ampersand', '<plist version="1.0"><string>a & b</string></plist>'],
    ['an unknown entity', '<plist version="1.0"><string>&nbsp;</string></plist>'],
    ['content after the root', '<plist version="1.0"><true/></plist><true/>'],
    ['a dict value without a key', '<plist version="1.0"><dict><string>x</string></dict></plist>'],
    ['a repeated key', '<plist version="1.0"><dict><key>a</key><true/><key>a</key><false/></dict></plist>'],
    ['a bad integer', '<plist version="1.0"><integer>1.5</integer></plist>'],
    ['another root', '<dict></dict>'],
  ];
  for (const [what, xml] of cases) {
    it(what, () => assert.throws(() => parsePlist(xml), /not a property list/));
  }

  it('reads entities, comments, empty elements and numbers', () => {
    assert.deepEqual(
      parsePlist(
        '<?xml version="1.0"?><!-- c --><plist ' +
          'version="1.0"><dict><key>s</key><string>&#65;&#x42;&lt;</string><key>e</key><string/><key>a</key><array/><key>n</key><integer>-3</integer><key>r</key><real>2.5</real></dict></plist>',
      ),
      { s: 'AB<', e: '', a: [], n: -3, r: 2.5 },
    );
  });
});

/** Apple's own checker, where there is one (macOS); on Linux there is none, and this says so. */
describe(
  'launchdPlist: plutil -lint',
  { skip: spawnSync('plutil', ['-help']).error ? 'plutil is not installed here (it ships with macOS)' : false },
  () => {
    it('accepts the user agent and the system daemon', () => {
      const dir = mkdtempSync(join(tmpdir(), 'bgt-plist-'));
      after(() => rmSync(dir, { recursive: true, force: true }));
      for (const scope of ['user', 'system'] as const) {
        const file = join(dir, `${scope}.plist`);
        writeFileSync(
          file,
          renderLaunchdPlist(
            buildServiceSpec(input({ scope, runAs: scope === 'system' ? 'ana' : null, home: '/tmp/a & <b>' })),
          ),
        );
        const result = spawnSync('plutil', ['-lint', file], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stdout + result.stderr);
      }
    });
  },
);

/**
 * launchctl cannot run on Linux, so the controller's command sequences are checked against a runner
 * that records each command and answers as launchctl would (the answers are copied from macOS 14).
 */
class LaunchctlStandIn implements CommandRunner {
  readonly calls: string[] = [];
  loaded = false;

  async run(command: string, args: readonly string[]): Promise<CommandResult> {
    const line = [command, ...args].join(' ');
    this.calls.push(line);
    const [verb, target] = args;
    if (verb === 'print' && target === 'gui/501')
      return { code: 0, stdout: 'gui/501 = {\n\ttype = login\n}\n', stderr: '' };
    if (verb === 'print' && target === 'gui/501/dev.bgtasks.daemon') {
      return this.loaded
        ? {
            code: 0,
            stdout:
              'gui/501/dev.bgtasks.daemon = {\n\tactive count = 1\n\tpath = ' +
              '/Users/ana/Library/LaunchAgents/dev.bgtasks.daemon.plist\n\tstate = ' +
              'running\n\n\tprogram = /opt/homebrew/bin/node\n\truns = 3\n\tpid = ' +
              '4242\n\tlast exit code = 1\n}\n',
            stderr: '',
          }
        : { code: 113, stdout: '', stderr: 'Could not find service "dev.bgtasks.daemon" in domain for port\n' };
    }
    if (verb === 'print-disabled')
      return {
        code: 0,
        stdout: 'disabled services = {\n\t"com.apple.x" => disabled\n\t"dev.bgtasks.daemon" ' + '=> enabled\n}\n',
        stderr: '',
      };
    if (verb === 'bootstrap') this.loaded = true;
    if (verb === 'bootout') this.loaded = false;
    return { code: 0, stdout: '', stderr: '' };
  }
}

describe('launchdController', () => {
  const file = '/Users/ana/Library/LaunchAgents/dev.bgtasks.daemon.plist';

  it('loads a new agent into the GUI domain: enable, then bootstrap', async () => {
    const runner = new LaunchctlStandIn();
    await new LaunchdController('user', runner, 501).activate(file, { start: true, changed: true });
    assert.deepEqual(runner.calls, [
      'launchctl print gui/501/dev.bgtasks.daemon',
      'launchctl enable gui/501/dev.bgtasks.daemon',
      `launchctl bootstrap gui/501 ${file}`,
    ]);
  });

  it('reloads a loaded agent whose file changed (an upgrade), and leaves an unchanged one running', async () => {
    const runner = new LaunchctlStandIn();
    runner.loaded = true;
    const controller = new LaunchdController('user', runner, 501);
    await controller.activate(file, { start: true, changed: true });
    assert.deepEqual(runner.calls.slice(1), [
      'launchctl bootout gui/501/dev.bgtasks.daemon',
      'launchctl enable gui/501/dev.bgtasks.daemon',
      `launchctl bootstrap gui/501 ${file}`,
    ]);
    runner.calls.length = 0;
    await controller.activate(file, { start: true, changed: false });
    assert.deepEqual(runner.calls, [
      'launchctl print gui/501/dev.bgtasks.daemon',
      'launchctl enable gui/501/dev.bgtasks.daemon',
    ]);
  });

  it('a system daemon goes in the system domain', async () => {
    const controller = new LaunchdController('system', new LaunchctlStandIn(), 0);
    assert.deepEqual(
      controller.activationCommands('/Library/LaunchDaemons/dev.bgtasks.daemon.plist', { start: true, changed: true }),
      [
        ['launchctl', 'enable', 'system/dev.bgtasks.daemon'],
        ['launchctl', 'bootstrap', 'system', '/Library/LaunchDaemons/dev.bgtasks.daemon.plist'],
      ],
    );
  });

  it('uninstall boots out only a loaded agent', async () => {
    const runner = new LaunchctlStandIn();
    const controller = new LaunchdController('user', runner, 501);
    await controller.deactivate();
    assert.deepEqual(runner.calls, ['launchctl print gui/501/dev.bgtasks.daemon']);
    runner.loaded = true;
    runner.calls.length = 0;
    await controller.deactivate();
    assert.deepEqual(runner.calls, [
      'launchctl print gui/501/dev.bgtasks.daemon',
      'launchctl bootout gui/501/dev.bgtasks.daemon',
    ]);
  });

  it('reads the state launchctl prints', async () => {
    const runner = new LaunchctlStandIn();
    runner.loaded = true;
    const state = await new LaunchdController('user', runner, 501).state();
    assert.deepEqual(state, {
      available: true,
      detail: null,
      enabled: 'enabled',
      active: 'running',
      mainPid: 4242,
      restarts: 2,
      activeSince: null,
      lastExit: '1',
    });
    runner.loaded = false;
    assert.equal((await new LaunchdController('user', runner, 501).state()).active, 'not loaded');
  });

  it('says why the GUI domain is unreachable (over ssh, nobody at the screen)', async () => {
    const runner: CommandRunner = {
      run: async () => ({
        code: 125,
        stdout: '',
        stderr: 'Bad request.\nCould not find domain for port identifier: gui/501\n',
      }),
    };
    assert.deepEqual(await new LaunchdController('user', runner, 501).probe(), {
      available: false,
      detail: 'launchd domain gui/501 is not reachable (Bad request.)',
    });
  });
});
