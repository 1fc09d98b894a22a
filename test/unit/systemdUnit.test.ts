import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ServiceError } from '../../src/service/serviceErrors.js';
import { buildServiceSpec, type ServiceSpecInput } from '../../src/service/serviceSpec.js';
import {
  execCommandLine,
  parseExecCommandLine,
  parseUnitFile,
  quoteExecWord,
  renderSystemdUnit,
  unitValue,
} from '../../src/service/systemdUnit.js';

const dir = mkdtempSync(join(tmpdir(), 'bgt-unit-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function input(overrides: Partial<ServiceSpecInput> = {}): ServiceSpecInput {
  return {
    platform: 'linux',
    scope: 'user',
    nodePath: process.execPath,
    cliPath: '/opt/bgtasks/dist/cli/main.js',
    home: '/home/ana/.local/state/bgtasks',
    configFile: null,
    runAs: null,
    documentation: 'file:///opt/bgtasks/README.md',
    ...overrides,
  };
}

describe('systemdUnit: quoting of ExecStart words', () => {
  it('leaves plain words bare and quotes the rest', () => {
    assert.equal(quoteExecWord('/usr/bin/node', { executable: true }), '/usr/bin/node');
    assert.equal(quoteExecWord('--home'), '--home');
    assert.equal(quoteExecWord('/home/ana/My Files/bgtasks'), '"/home/ana/My Files/bgtasks"');
    assert.equal(quoteExecWord(''), '""');
  });

  it('escapes % as %% everywhere, $ as $$ in arguments only, and \\ and " inside quotes', () => {
    assert.equal(quoteExecWord('/srv/100%'), '/srv/100%%');
    assert.equal(quoteExecWord('/srv/$HOME'), '"/srv/$$HOME"');
    assert.equal(quoteExecWord('/opt/node$1/bin/node', { executable: true }), '"/opt/node$1/bin/node"'); // systemd never expands the program's path
    assert.equal(quoteExecWord('a\\b"c\'d'), '"a\\\\b\\"c\'d"');
  });

  it('refuses a program path systemd cannot run (a backslash or a quote in it)', () => {
    for (const path of ['/opt/no"de/node', "/opt/no'de/node", '/opt/no\\de/node']) {
      assert.throws(
        () => quoteExecWord(path, { executable: true }),
        (error: unknown) => error instanceof ServiceError && error.code === 'unsupportedPath' && error.field === 'node',
      );
    }
  });

  it('reads back exactly the argv it wrote, for any printable arguments', () => {
    // Mostly the characters systemd treats specially, among any other printable ones (control characters are refused
    // earlier).
    const special = fc.constantFrom(' ', '"', "'", '\\', '%', '$', '$$', '%%', ';', '=', '#', 'é', '\\x41', '%h');
    const printable = fc.string({ unit: 'grapheme', maxLength: 3 }).filter((text) => !/\p{Cc}/u.test(text));
    const word = fc.array(fc.oneof(special, printable), { maxLength: 8 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(fc.array(word, { maxLength: 6 }), (args) => {
        const argv = ['/usr/bin/node', ...args];
        assert.deepEqual(parseExecCommandLine(execCommandLine(argv)), argv);
      }),
      { numRuns: 500 },
    );
  });

  it('reads systemd syntax it did not write: single quotes, C escapes, prefixes', () => {
    assert.deepEqual(parseExecCommandLine(`-/bin/echo 'a b' "c\\td" e\\x41 100%% $$x`), [
      '/bin/echo',
      'a b',
      'c\td',
      'eA',
      '100%',
      '$x',
    ]);
    assert.throws(() => parseExecCommandLine('/bin/echo "unbalanced'), /unbalanced quotes/);
  });
});

describe('systemdUnit: the unit', () => {
  it('a user unit: starts with the user manager, restarts on failure, stops within the timeout', () => {
    const unit = parseUnitFile(renderSystemdUnit(buildServiceSpec(input())));
    assert.deepEqual(parseExecCommandLine(unitValue(unit, 'Service', 'ExecStart')!), [
      process.execPath,
      '/opt/bgtasks/dist/cli/main.js',
      '--home',
      '/home/ana/.local/state/bgtasks',
      'daemon',
    ]);
    assert.equal(unitValue(unit, 'Service', 'Type'), 'simple');
    assert.equal(unitValue(unit, 'Service', 'Restart'), 'on-failure');
    assert.equal(unitValue(unit, 'Service', 'RestartSec'), '5');
    assert.equal(unitValue(unit, 'Service', 'TimeoutStopSec'), '30');
    assert.equal(unitValue(unit, 'Service', 'KillMode'), 'mixed');
    assert.equal(unitValue(unit, 'Service', 'User'), null);
    assert.equal(unitValue(unit, 'Unit', 'After'), null);
    assert.equal(unitValue(unit, 'Install', 'WantedBy'), 'default.target');
    assert.equal(unitValue(unit, 'Unit', 'Documentation'), 'file:///opt/bgtasks/README.md');
  });

  it(
    'a system unit: runs as its user after the network, wanted by ' +
      'multi-user.target; /var/lib/bgtasks is a StateDirectory',
    () => {
      const unit = parseUnitFile(
        renderSystemdUnit(buildServiceSpec(input({ scope: 'system', runAs: 'bgtasks', home: '/var/lib/bgtasks' }))),
      );
      assert.equal(unitValue(unit, 'Service', 'User'), 'bgtasks');
      assert.equal(unitValue(unit, 'Unit', 'After'), 'network.target');
      assert.equal(unitValue(unit, 'Install', 'WantedBy'), 'multi-user.target');
      assert.equal(unitValue(unit, 'Service', 'StateDirectory'), 'bgtasks');
      const elsewhere = parseUnitFile(
        renderSystemdUnit(buildServiceSpec(input({ scope: 'system', runAs: 'bgtasks', home: '/srv/bgtasks' }))),
      );
      assert.equal(unitValue(elsewhere, 'Service', 'StateDirectory'), null);
    },
  );

  it("passes --config when there is one, and PATH with Node.js's own directory first", () => {
    const spec = buildServiceSpec(input({ configFile: '/etc/bgtasks/config 100%.json' }));
    const unit = parseUnitFile(renderSystemdUnit(spec));
    assert.deepEqual(parseExecCommandLine(unitValue(unit, 'Service', 'ExecStart')!).slice(2), [
      '--home',
      '/home/ana/.local/state/bgtasks',
      '--config',
      '/etc/bgtasks/config 100%.json',
      'daemon',
    ]);
    assert.match(unitValue(unit, 'Service', 'Environment')!, new RegExp(`^"PATH=${join(process.execPath, '..')}:`));
  });
});

/**
 * systemd's own checker on what we write. `systemd-analyze verify` loads the unit as systemd would
 * and checks that the program in ExecStart exists: so a unit whose program lives in a directory with
 * a space, `$` and `%` passes only if systemd reads its path back the way we wrote it.
 */
describe(
  'systemdUnit: systemd-analyze verify',
  {
    skip:
      existsSync('/usr/bin/systemd-analyze') || existsSync('/bin/systemd-analyze')
        ? false
        : 'systemd-analyze is not installed here',
  },
  () => {
    const runtimeDir = join(dir, 'runtime');
    mkdirSync(runtimeDir, { mode: 0o700 });

    function verify(name: string, text: string, scope: 'user' | 'system'): { code: number | null; problems: string[] } {
      const unitDir = mkdtempSync(join(dir, `${name}-`));
      const file = join(unitDir, 'bgtasks.service');
      writeFileSync(file, text);
      // `--user` needs a runtime directory to exist, even without a user manager.
      const result = spawnSync('systemd-analyze', [...(scope === 'user' ? ['--user'] : []), 'verify', file], {
        encoding: 'utf8',
        env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir, SYSTEMD_LOG_COLOR: '0' },
      });
      // Unknown keys and bad values are warnings (exit 0): any line about our unit is a problem.
      const problems = result.stderr.split('\n').filter((line) => line.includes('bgtasks.service'));
      return { code: result.status, problems };
    }

    const cli = join(dir, 'cli main.js');
    writeFileSync(cli, '');
    const oddDir = join(dir, 'node $HOME 100%');
    mkdirSync(oddDir);
    const oddNode = join(oddDir, 'node');
    symlinkSync(process.execPath, oddNode);

    it('a user unit and a system unit pass, with spaces, %, $, quotes and backslashes in their paths', () => {
      const home = join(dir, 'a home', 'with "quotes", \\ and 50% of $PATH');
      const user = verify(
        'user',
        renderSystemdUnit(buildServiceSpec(input({ cliPath: cli, home, configFile: join(dir, "it's.json") }))),
        'user',
      );
      assert.deepEqual(user, { code: 0, problems: [] });
      const system = verify(
        'system',
        renderSystemdUnit(
          buildServiceSpec(input({ scope: 'system', runAs: 'bgtasks', cliPath: cli, home: '/var/lib/bgtasks' })),
        ),
        'system',
      );
      assert.deepEqual(system, { code: 0, problems: [] });
    });

    it('finds the program in a directory named with a space, $ and %: systemd reads the path as written', () => {
      const result = verify(
        'odd',
        renderSystemdUnit(buildServiceSpec(input({ nodePath: oddNode, cliPath: cli }))),
        'user',
      );
      assert.deepEqual(result, { code: 0, problems: [] });
    });

    it(
      'catches what is wrong (so the checks above can fail): a $ doubled in the ' + 'program path, unbalanced quotes',
      () => {
        const text = renderSystemdUnit(buildServiceSpec(input({ nodePath: oddNode, cliPath: cli })));
        const doubled = text.replace('node $HOME', () => 'node $$HOME');
        assert.notEqual(doubled, text);
        assert.notEqual(verify('doubled', doubled, 'user').code, 0);
        const unbalanced = text.replace(/^ExecStart=.*$/m, (line) => `${line} "oops`);
        const result = verify('unbalanced', unbalanced, 'user');
        assert.ok(
          result.code !== 0 || result.problems.length > 0,
          'systemd-analyze should object to unbalanced quotes',
        );
      },
    );

    it('the program must be executable where systemd looks for it', () => {
      const notExecutable = join(dir, 'plain-file');
      writeFileSync(notExecutable, '');
      chmodSync(notExecutable, 0o644);
      assert.notEqual(
        verify('noexec', renderSystemdUnit(buildServiceSpec(input({ nodePath: notExecutable, cliPath: cli }))), 'user')
          .code,
        0,
      );
    });
  },
);
