import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseExecCommandLine, parseUnitFile, unitValue } from '../../src/service/systemdUnit.js';
import { CLI, TestHome, run, until, type RunResult } from '../support/daemonProcess.js';

/**
 * `bgtasks service` through the real command (dist/cli/main.js) on Linux, with every location in a
 * temporary directory (XDG_CONFIG_HOME and HOME for the user unit, BGTASKS_SERVICE_ROOT for the system
 * one). The unit it writes is checked by systemd-analyze, and its ExecStart is run as systemd would run
 * it: a real daemon that answers and stops cleanly on SIGTERM.
 *
 * A systemd manager cannot run on the machines that run these tests (no systemd as PID 1, no user bus),
 * and a test must never touch the user manager of a developer's machine: so `systemctl` is a small
 * script first on PATH that logs its arguments and answers as systemctl does. One test runs the real
 * systemctl, only where no user manager is reachable, to see that case reported as it happens.
 */
const platformSkip =
  process.platform === 'linux'
    ? false
    : 'the systemd flow runs on Linux (launchd is covered in ' + 'test/unit/launchdPlist.test.ts)';

const FAKE_SYSTEMCTL = `#!/bin/sh
# A stand-in for systemctl (see service.test.ts): logs its arguments, answers like a running manager.
echo "$*" >> "$FAKE_SYSTEMCTL_LOG"
for word in "$@"; do
  if [ -n "$FAKE_SYSTEMCTL_FAIL" ] && [ "$word" = "$FAKE_SYSTEMCTL_FAIL" ]; then
    echo "Failed to $word unit: Access denied" >&2
    exit 1
  fi
done
case " $* " in
  *" is-system-running "*) echo running ;;
  *" show "*) printf 'UnitFileState=enabled\\nActiveState=active\\nSubState=running\\nMainPID=4242\\nNRestarts=2\\nActiveEnterTimestamp=Sun 2026-12-06 08:00:00 UTC\\nResult=success\\n' ;;
esac
exit 0
`;

describe('bgtasks service (Linux, systemd)', { skip: platformSkip }, () => {
  const home = new TestHome();
  const fakeBin = join(home.dir, 'bin');
  const configHome = join(home.dir, 'config');
  const userHome = join(home.dir, 'user-home');
  const serviceRoot = join(home.dir, 'root');
  const systemctlLog = join(home.dir, 'systemctl.log');
  const unitFile = join(configHome, 'systemd', 'user', 'bgtasks.service');
  mkdirSync(fakeBin, { recursive: true });
  mkdirSync(userHome, { recursive: true });
  writeFileSync(join(fakeBin, 'systemctl'), FAKE_SYSTEMCTL);
  chmodSync(join(fakeBin, 'systemctl'), 0o755);
  after(() => home.cleanup());

  const baseEnv = {
    XDG_CONFIG_HOME: configHome,
    HOME: userHome,
    BGTASKS_HOME: '',
    BGTASKS_CONFIG: '',
    SUDO_USER: '',
    BGTASKS_SERVICE_ROOT: serviceRoot,
    FAKE_SYSTEMCTL_LOG: systemctlLog,
  };

  function service(
    args: readonly string[],
    env: NodeJS.ProcessEnv = {},
    options: { realSystemctl?: boolean } = {},
  ): Promise<RunResult> {
    const path = options.realSystemctl ? process.env.PATH : `${fakeBin}:${process.env.PATH ?? ''}`;
    return run(process.execPath, [CLI, '--home', home.home, 'service', ...args], {
      env: { ...baseEnv, PATH: path, ...env },
    });
  }

  function systemctlCalls(): string[] {
    const calls = existsSync(systemctlLog) ? readFileSync(systemctlLog, 'utf8').split('\n').filter(Boolean) : [];
    writeFileSync(systemctlLog, '');
    return calls.filter((call) => !call.includes('is-system-running'));
  }

  interface Status {
    installed: boolean;
    current: boolean | null;
    staleReasons: string[];
    file: string;
    home: string;
    manager: { available: boolean; enabled: string | null; active: string | null; restarts: number | null } | null;
    daemon: { answering: boolean; pid: number | null; socket: string };
  }

  it('install --print shows the unit and writes nothing', async () => {
    const result = await service(['install', '--print']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^ExecStart=.* --home .* daemon$/m);
    assert.equal(existsSync(unitFile), false);
    assert.deepEqual(systemctlCalls(), []);
  });

  it('install writes the user unit, reloads systemd, enables it and starts it', async () => {
    const result = await service(['install']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`wrote systemd user unit ${unitFile}`));
    assert.match(result.stdout, /started, and starts at login; restarts on failure/);
    assert.deepEqual(systemctlCalls(), [
      '--user daemon-reload',
      '--user enable bgtasks.service',
      '--user restart bgtasks.service',
    ]);
  });

  it(
    'the unit it wrote passes systemd-analyze verify',
    { skip: existsSync('/usr/bin/systemd-analyze') ? false : 'systemd-analyze is not installed here' },
    () => {
      const runtime = join(home.dir, 'runtime');
      mkdirSync(runtime, { recursive: true, mode: 0o700 });
      const verify = spawnSync('systemd-analyze', ['--user', 'verify', unitFile], {
        encoding: 'utf8',
        env: { ...process.env, XDG_RUNTIME_DIR: runtime },
      });
      assert.equal(verify.status, 0, verify.stderr);
      assert.deepEqual(
        verify.stderr.split('\n').filter((line) => line.includes('bgtasks.service')),
        [],
      );
    },
  );

  it('status: installed, current, what systemd says, and no daemon answering yet', async () => {
    const result = await service(['status', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const status = result.json<Status>();
    assert.equal(status.installed, true);
    assert.equal(status.current, true);
    assert.equal(status.file, unitFile);
    assert.equal(status.home, home.home);
    assert.deepEqual(
      { ...status.manager, available: status.manager?.available },
      {
        available: true,
        enabled: 'enabled',
        active: 'active (running)',
        restarts: 2,
        mainPid: 4242,
        activeSince: 'Sun 2026-12-06 08:00:00 UTC',
        lastExit: 'success',
        detail: null,
      },
    );
    assert.equal(status.daemon.answering, false);
  });

  it("the unit's ExecStart, run as systemd runs it, is a working daemon that stops cleanly on SIGTERM", async () => {
    const unit = parseUnitFile(readFileSync(unitFile, 'utf8'));
    const [program, ...args] = parseExecCommandLine(unitValue(unit, 'Service', 'ExecStart')!);
    const path = /^"PATH=(.*)"$/.exec(unitValue(unit, 'Service', 'Environment')!)![1]!;
    // systemd's environment for a user service: its Environment= lines, HOME, no terminal.
    const daemon = spawn(program!, args, {
      cwd: '/',
      env: { PATH: path, HOME: userHome },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    daemon.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => daemon.once('exit', (code) => resolve(code)));
    try {
      const status = await until(
        "the service's daemon to answer",
        async () => {
          const answer = (await service(['status', '--json'])).json<Status>();
          return answer.daemon.answering ? answer : undefined;
        },
        20_000,
      );
      assert.equal(status.daemon.pid, daemon.pid);
      assert.match((await service(['status'])).stdout, /daemon: +answering on .*daemon\.sock \(pid \d+, version /);
    } finally {
      daemon.kill('SIGTERM');
    }
    assert.equal(await exited, 0, log);
  });

  it(
    'status after a Node.js upgrade says the unit is stale and to install again; ' + 'install again restarts it',
    async () => {
      const text = readFileSync(unitFile, 'utf8');
      writeFileSync(unitFile, text.replace(/^ExecStart=\S+/m, 'ExecStart=/opt/node-18.0.0/bin/node'));
      const status = (await service(['status', '--json'])).json<Status>();
      assert.equal(status.current, false);
      assert.match(
        status.staleReasons.join(),
        /it runs Node\.js \/opt\/node-18\.0\.0\/bin\/node \(which no longer exists\), this bgtasks runs on /,
      );
      assert.match((await service(['status'])).stdout, /STALE: .*\n.*run `bgtasks service install` again/);
      systemctlCalls();
      const again = await service(['install']);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(readFileSync(unitFile, 'utf8'), text);
      assert.deepEqual(systemctlCalls(), [
        '--user daemon-reload',
        '--user enable bgtasks.service',
        '--user restart bgtasks.service',
      ]);
      // Unchanged: started if it is not running, not restarted.
      await service(['install']);
      assert.deepEqual(systemctlCalls(), [
        '--user daemon-reload',
        '--user enable bgtasks.service',
        '--user start bgtasks.service',
      ]);
    },
  );

  it('a systemctl that fails is reported with the command and its words; the unit stays written', async () => {
    const result = await service(['install'], { FAKE_SYSTEMCTL_FAIL: 'enable' });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /wrote .*bgtasks\.service, but `systemctl --user enable bgtasks\.service` failed: Failed to enable unit: Access denied \[serviceCommandFailed\]/,
    );
    assert.ok(existsSync(unitFile));
  });

  it('stop, start and restart go through systemd; a failure names the command', async () => {
    systemctlCalls();
    for (const [action, done] of [
      ['stop', 'stopped'],
      ['start', 'started'],
      ['restart', 'restarted'],
    ] as const) {
      const result = await service([action]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(`^${done} the bgtasks systemd user unit \\(systemctl --user ${action} ` + `bgtasks\\.service\\)`),
      );
    }
    assert.deepEqual(systemctlCalls(), [
      '--user stop bgtasks.service',
      '--user start bgtasks.service',
      '--user restart bgtasks.service',
    ]);
    const failed = await service(['stop'], { FAKE_SYSTEMCTL_FAIL: 'stop' });
    assert.equal(failed.code, 1);
    assert.match(
      failed.stderr,
      /`systemctl --user stop bgtasks\.service` failed: Failed to stop unit: Access denied \[serviceCommandFailed\]/,
    );
    const system = await service(['stop', '--system', '--json']);
    assert.equal(system.code, 1, 'no system unit is installed');
    assert.match(
      system.stderr,
      /no bgtasks service is installed .*bgtasks service install --system.*bgtasks stop.*\[serviceNotInstalled\]/,
    );
  });

  it(
    'uninstall stops, disables and removes it; status then says none is ' + 'installed; again is not an error',
    async () => {
      systemctlCalls();
      const result = await service(['uninstall']);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /removed systemd user unit .* \(stopped and disabled first\)/);
      assert.deepEqual(systemctlCalls(), [
        '--user disable --now bgtasks.service',
        '--user daemon-reload',
        '--user reset-failed bgtasks.service',
      ]);
      assert.equal(existsSync(unitFile), false);
      const status = (await service(['status', '--json'])).json<Status>();
      assert.equal(status.installed, false);
      assert.equal(status.manager, null);
      assert.match((await service(['status'])).stdout, /no bgtasks systemd user unit is installed/);
      const again = await service(['uninstall', '--json']);
      assert.equal(again.code, 0);
      assert.equal(again.json<{ removed: boolean }>().removed, false);
    },
  );

  it('--system writes a system unit that runs as the named user, and talks to the system manager', async () => {
    const result = await service(['install', '--system', '--user', 'root', '--no-start', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const file = join(serviceRoot, 'etc', 'systemd', 'system', 'bgtasks.service');
    assert.equal(result.json<{ file: string; runAs: string; started: boolean }>().file, file);
    const unit = parseUnitFile(readFileSync(file, 'utf8'));
    assert.equal(unitValue(unit, 'Service', 'User'), 'root');
    assert.equal(unitValue(unit, 'Install', 'WantedBy'), 'multi-user.target');
    assert.deepEqual(systemctlCalls(), ['daemon-reload', 'enable bgtasks.service']);
    assert.match(
      (await service(['status'])).stdout,
      /a systemd system unit is installed: .*bgtasks\.service \(`bgtasks service status --system`\)/,
    );
    assert.equal((await service(['uninstall', '--system'])).code, 0);
    assert.equal(existsSync(file), false);
  });

  it('refuses bad arguments with exit 2 and the option at fault', async () => {
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [
        ['install', '--system'],
        { SUDO_USER: 'root' },
        /would run as root .*--user root.*\(field: user\) \[invalidArgument\]/,
      ],
      [
        ['install', '--system', '--user', 'no-such-user-xyz'],
        {},
        /no user named "no-such-user-xyz".*\(field: user\) \[invalidArgument\]/,
      ],
      [['install', '--user', 'ana'], {}, /--user goes with --system.*\(field: user\)/],
      [['install', '--system', '--user', 'a b'], {}, /--user: must be a user name.*\(field: user\)/],
      [
        ['install'],
        { BGTASKS_CONFIG: join(home.dir, 'missing.json') },
        /the config file .*missing\.json does not exist.*\(field: config\)/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await service(args, env);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
    assert.equal(existsSync(unitFile), false);
    assert.equal(existsSync(join(serviceRoot, 'etc', 'systemd', 'system', 'bgtasks.service')), false);
  });

  it('passes --config (from $BGTASKS_CONFIG) to the daemon, made absolute', async () => {
    const config = join(home.dir, 'my config.json');
    writeFileSync(config, '{}');
    const result = await service(['install', '--print', '--json'], { BGTASKS_CONFIG: config });
    assert.equal(result.code, 0, result.stderr);
    const content = result.json<{ content: string }>().content;
    assert.deepEqual(parseExecCommandLine(unitValue(parseUnitFile(content), 'Service', 'ExecStart')!).slice(-3), [
      '--config',
      config,
      'daemon',
    ]);
  });

  it(
    'gives the daemon the home its config file names, and refuses a configuration ' + 'the daemon would refuse',
    async () => {
      const serviceHome = join(home.dir, 'service home');
      const config = join(home.dir, 'service.json');
      writeFileSync(config, JSON.stringify({ home: serviceHome }));
      const env = { ...baseEnv, PATH: `${fakeBin}:${process.env.PATH ?? ''}` };
      const result = await run(process.execPath, [CLI, '--config', config, 'service', 'install', '--print', '--json'], {
        env,
      });
      assert.equal(result.code, 0, result.stderr);
      const argv = parseExecCommandLine(
        unitValue(parseUnitFile(result.json<{ content: string }>().content), 'Service', 'ExecStart')!,
      );
      assert.deepEqual(argv.slice(-5), ['--home', serviceHome, '--config', config, 'daemon']);

      writeFileSync(config, JSON.stringify({ home: serviceHome, scheduling: { refreshTimeLimit: 5 } }));
      const refused = await run(process.execPath, [CLI, '--config', config, 'service', 'install', '--print'], { env });
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /scheduling\.refreshTimeLimit/);
    },
  );

  const reachable = spawnSync('systemctl', ['--user', 'is-system-running'], { encoding: 'utf8' });
  const userManagerRuns =
    !reachable.error &&
    ['running', 'degraded', 'starting', 'initializing', 'maintenance', 'stopping'].includes(reachable.stdout.trim());
  it(
    'with the real systemctl and no user manager: the unit is written, and the ' + 'commands to start it are given',
    {
      skip: reachable.error
        ? 'systemctl is not installed here'
        : userManagerRuns
          ? 'a systemd user manager runs here: this test would touch it'
          : false,
    },
    async () => {
      const noStart = await service(['install', '--no-start'], {}, { realSystemctl: true });
      assert.equal(noStart.code, 0, noStart.stderr);
      assert.match(
        noStart.stderr,
        /note: systemd could not be told about the new service: no systemd user manager is reachable.*run `systemctl --user daemon-reload`, then `systemctl --user enable bgtasks\.service`$/m,
      );
      const start = await service(['install'], {}, { realSystemctl: true });
      assert.equal(start.code, 1);
      assert.match(
        start.stderr,
        /the service file is written but the daemon was not started: .*then `systemctl --user start bgtasks\.service` \(field: manager\) \[serviceManagerUnavailable\]/,
      );
      assert.ok(existsSync(unitFile));
      const status = (await service(['status', '--json'], {}, { realSystemctl: true })).json<Status>();
      assert.equal(status.manager?.available, false);
      const removed = await service(['uninstall'], {}, { realSystemctl: true });
      assert.equal(removed.code, 0);
      assert.match(removed.stderr, /could not be reached to stop it: .*run `systemctl --user daemon-reload`/);
      assert.equal(existsSync(unitFile), false);
    },
  );
});
