import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkConfig } from '../../src/cli/doctor/configCheck.js';

describe('doctor: configCheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgtasks-doctor-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const file = (name: string, content: unknown): string => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('no file at the default place: the defaults, ok', () => {
    const { checks, facts } = checkConfig({ home, env: {} });
    assert.deepEqual(
      checks.map((check) => [check.id, check.status]),
      [['config.file', 'ok']],
    );
    assert.match(checks[0]!.detail, /no config file at .*home\/config\.json: the defaults$/);
    assert.deepEqual(facts, { home });
  });

  it(
    'a valid named file gives the home, store and node it names, counting what ' + 'the file and the environment set',
    () => {
      const path = file('ok.json', {
        home: join(dir, 'elsewhere'),
        store: join(dir, 'other.sqlite'),
        scheduling: { profile: 'server' },
      });
      const { checks, facts } = checkConfig({ configPath: path, env: { BGTASKS_HTTP_PORT: '9464' } });
      assert.equal(checks[0]!.status, 'ok');
      assert.match(checks[0]!.detail, /is valid: 3 option\(s\) set there, 1 by the environment/);
      assert.equal(facts.home, join(dir, 'elsewhere'));
      assert.deepEqual(facts.store, { location: join(dir, 'other.sqlite'), source: `file ${path}` });
    },
  );

  it('an option the daemon would ignore is a warning', () => {
    const path = file('ignored.json', { http: { enabled: false, port: 8080 } });
    const { checks } = checkConfig({ home, configPath: path, env: {} });
    assert.deepEqual(
      checks.map((check) => check.status),
      ['ok', 'warn'],
    );
    assert.match(checks[1]!.detail, /http\.port/);
    assert.match(checks[1]!.fix!, /bgtasks config/);
  });

  it(
    'a file the daemon would refuse is a failure naming the option, and the other ' + 'checks look at the home anyway',
    () => {
      const path = file('bad.json', { scheduling: { maxConcurrentTasks: 'four' } });
      const { checks, facts } = checkConfig({ home, configPath: path, env: {} });
      assert.deepEqual(
        checks.map((check) => [check.id, check.status]),
        [['config.file', 'fail']],
      );
      assert.match(checks[0]!.detail, /scheduling\.maxConcurrentTasks/);
      assert.match(checks[0]!.fix!, /bgtasks config check/);
      assert.equal(facts.home, home);
    },
  );

  it('a named file that is missing, or not JSON, is a failure with its code', () => {
    const missing = checkConfig({ home, configPath: join(dir, 'nope.json'), env: {} });
    assert.match(missing.checks[0]!.detail, /\[configNotFound\]$/);
    const broken = checkConfig({ home, env: { BGTASKS_CONFIG: file('broken.json', '{ not json') } });
    assert.match(broken.checks[0]!.detail, /\[invalidConfig\]$/);
    assert.match(broken.checks[0]!.fix!, /broken\.json/);
  });

  it('a bad environment variable is a failure naming it', () => {
    const { checks } = checkConfig({ home, env: { BGTASKS_HTTP_PORT: 'eighty' } });
    assert.equal(checks[0]!.status, 'fail');
    assert.match(checks[0]!.detail, /BGTASKS_HTTP_PORT/);
  });
});
