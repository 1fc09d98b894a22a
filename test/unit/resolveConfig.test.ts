import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError } from '../../src/config/configError.js';
import { describeSource } from '../../src/config/configSources.js';
import { CONFIG_OPTIONS } from '../../src/config/configOptions.js';
import { resolveConfig, type ResolveConfigInput } from '../../src/config/resolveConfig.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/daemon/options.js';

const root = mkdtempSync(join(tmpdir(), 'bgt-resolve-config-'));
let homes = 0;

/** A fresh home, with `config.json` in it when given. */
function homeWith(config?: unknown): string {
  const home = join(root, `h${++homes}`);
  mkdirSync(home, { recursive: true });
  if (config !== undefined)
    writeFileSync(join(home, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return home;
}

function failure(input: ResolveConfigInput): ConfigError {
  try {
    resolveConfig(input);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('resolved');
}

const source = (resolved: ReturnType<typeof resolveConfig>, path: string): string =>
  describeSource(resolved.sources.get(path)!);

describe('resolveConfig', () => {
  after(() => rmSync(root, { recursive: true, force: true }));

  it('gives every option its default, with source default, when nothing is set', () => {
    const home = homeWith();
    const resolved = resolveConfig({ home, env: {}, cwd: root });
    assert.deepEqual(resolved.file, { path: join(home, 'config.json'), exists: false, explicit: false });
    assert.equal(resolved.values.size, CONFIG_OPTIONS.length);
    for (const option of CONFIG_OPTIONS) {
      if (option.path !== 'home') assert.equal(resolved.sources.get(option.path)!.kind, 'default', option.path);
    }
    assert.equal(source(resolved, 'home'), 'flag');
    assert.equal(resolved.values.get('store'), join(home, 'store.sqlite'));
    assert.equal(resolved.values.get('http.port'), 0);
    assert.equal(resolved.values.get('connectionLimits.maxConnections'), DEFAULT_CONNECTION_LIMITS.maxConnections);
    assert.equal(resolved.values.get('scheduling.profile'), null, 'picked by the daemon at first start');
    assert.match(source(resolved, 'scheduling.profile'), /picked at first start/);
    assert.equal(resolved.values.get('scheduling.maxBackgroundProcesses'), 4);
    assert.equal(source(resolved, 'scheduling.maxBackgroundProcesses'), 'default (profile device; server: 16)');
    assert.equal(source(resolved, 'scheduling.refreshTimeLimitMs'), 'default', 'the same in both profiles');
    assert.deepEqual(resolved.logOptions, { level: 'info', format: 'auto' });
    assert.deepEqual(resolved.options, { home }, 'the daemon gets only what was set, and fills in the rest itself');
    assert.deepEqual(resolved.warnings, []);
  });

  it(
    'takes flags over the environment over the file over the defaults, option by ' +
      'option, and says where each came from',
    () => {
      const home = homeWith({
        http: { port: 8001, host: '127.0.0.2' },
        scheduling: { maxConcurrentTasksPerApp: 2, refreshTimeLimitMs: 1_000, maxSleepMs: 1_000 },
        log: { level: 'warn' },
      });
      const resolved = resolveConfig({
        home,
        env: {
          BGTASKS_HTTP_PORT: '8002',
          BGTASKS_SCHEDULING_REFRESH_TIME_LIMIT_MS: '2000',
          BGTASKS_SCHEDULING_MAX_SLEEP_MS: '2000',
        },
        flags: { scheduling: { maxSleepMs: 3_000 } },
        cwd: root,
      });
      const file = `file ${join(home, 'config.json')}`;
      assert.equal(resolved.file.exists, true);
      assert.deepEqual(
        [
          'http.port',
          'http.host',
          'scheduling.maxConcurrentTasksPerApp',
          'scheduling.refreshTimeLimitMs',
          'scheduling.maxSleepMs',
          'log.level',
          'scheduling.stopGraceMs',
        ].map((path) => [path, resolved.values.get(path), source(resolved, path)]),
        [
          ['http.port', 8002, 'env BGTASKS_HTTP_PORT'],
          ['http.host', '127.0.0.2', file],
          ['scheduling.maxConcurrentTasksPerApp', 2, file],
          ['scheduling.refreshTimeLimitMs', 2_000, 'env BGTASKS_SCHEDULING_REFRESH_TIME_LIMIT_MS'],
          ['scheduling.maxSleepMs', 3_000, 'flag'],
          ['log.level', 'warn', file],
          ['scheduling.stopGraceMs', 5_000, 'default'],
        ],
      );
      assert.deepEqual(resolved.options, {
        home,
        httpPort: 8002,
        httpHost: '127.0.0.2',
        scheduling: { maxConcurrentTasksPerApp: 2, refreshTimeLimitMs: 2_000, maxSleepMs: 3_000 },
      });
      assert.equal(resolved.compiled.scheduling.maxSleepMs, 3_000);
      assert.deepEqual(resolved.logOptions, { level: 'warn', format: 'auto' });
    },
  );

  it('shows the scheduling defaults of the profile that is set', () => {
    const resolved = resolveConfig({ home: homeWith({ scheduling: { profile: 'server' } }), env: {}, cwd: root });
    assert.equal(resolved.values.get('scheduling.maxBackgroundProcesses'), 16);
    assert.equal(source(resolved, 'scheduling.maxBackgroundProcesses'), 'default (profile server)');
    assert.equal(resolved.values.get('scheduling.usageBonus'), false);
  });

  it('parses the environment by type, treats an empty variable as unset, and names the variable at fault', () => {
    const home = homeWith();
    const resolved = resolveConfig({
      home,
      env: {
        BGTASKS_HTTP_ENABLED: 'false',
        BGTASKS_SCHEDULING_USAGE_BONUS: 'true',
        BGTASKS_SENSOR_POLL_INTERVAL_MS: ' 250 ',
        BGTASKS_STORE: '',
        BGTASKS_LOG_LEVEL: 'debug',
      },
      cwd: root,
    });
    assert.equal(resolved.values.get('http.enabled'), false);
    assert.equal(resolved.options.httpPort, null, 'no dashboard');
    assert.equal(resolved.values.get('scheduling.usageBonus'), true);
    assert.equal(resolved.values.get('sensorPollIntervalMs'), 250);
    assert.equal(source(resolved, 'store'), 'default');
    assert.deepEqual(resolved.logOptions, { level: 'debug', format: 'auto' }, 'BGTASKS_LOG_LEVEL keeps working');
    for (const [variable, text, expected] of [
      [
        'BGTASKS_HTTP_PORT',
        'eighty',
        /BGTASKS_HTTP_PORT="eighty": expected an integer >= 0 and <= 65535 \(the option http\.port\)/,
      ],
      ['BGTASKS_HTTP_PORT', '70000', /<= 65535/],
      ['BGTASKS_HTTP_ENABLED', 'yes', /expected true or false/],
      ['BGTASKS_SCHEDULING_PROFILE', 'laptop', /expected one of device, server/],
      ['BGTASKS_LOG_LEVEL', 'loud', /expected one of trace, debug, info/],
      ['BGTASKS_SCHEDULING_MAX_SLEEP_MS', '1.5', /an integer >= 10/],
    ] as const) {
      const error = failure({ home, env: { [variable]: text }, cwd: root });
      assert.equal(error.code, 'invalidOption');
      assert.equal(error.field, variable);
      assert.match(error.message, expected);
    }
  });

  it('warns about a BGTASKS_ variable that looks like an option but is none, and leaves the others alone', () => {
    const resolved = resolveConfig({
      home: homeWith(),
      env: {
        BGTASKS_HTTP_PROT: '80',
        BGTASKS_SCHEDULING_NOPE: '1',
        BGTASKS_DEBUG: '1',
        BGTASKS_APP_ID: 'com.example.a',
        BGTASKS_LAUNCH_REASON: 'user',
        BGTASKS_MY_APP_TOKEN: 'x',
        BGTASKS_CONFIG: '',
      },
      cwd: root,
    });
    assert.deepEqual(resolved.warnings, [
      'BGTASKS_HTTP_PROT is not an option and is ignored; did you mean BGTASKS_HTTP_PORT?',
      'BGTASKS_SCHEDULING_NOPE is not an option and is ignored',
    ]);
  });

  it('refuses a config file named explicitly that does not exist, naming the flag or the variable', () => {
    const home = homeWith();
    const byFlag = failure({ home, configPath: 'nope.json', env: {}, cwd: root });
    assert.equal(byFlag.code, 'configNotFound');
    assert.equal(byFlag.field, 'config');
    assert.match(byFlag.message, new RegExp(`${join(root, 'nope.json')}.*--config`));
    assert.equal(byFlag.exitCode, 2);
    const byEnv = failure({ home, env: { BGTASKS_CONFIG: join(root, 'nope.json') }, cwd: root });
    assert.equal(byEnv.code, 'configNotFound');
    assert.equal(byEnv.field, 'BGTASKS_CONFIG');
  });

  it('finds the file by --config over $BGTASKS_CONFIG over <home>/config.json', () => {
    const home = homeWith({ http: { port: 8001 } });
    const other = join(root, 'other.json');
    writeFileSync(other, JSON.stringify({ http: { port: 8002 } }));
    const third = join(root, 'third.json');
    writeFileSync(third, JSON.stringify({ http: { port: 8003 } }));
    assert.equal(resolveConfig({ home, env: {}, cwd: root }).values.get('http.port'), 8001);
    const byEnv = resolveConfig({ home, env: { BGTASKS_CONFIG: other }, cwd: root });
    assert.equal(byEnv.values.get('http.port'), 8002);
    assert.deepEqual(byEnv.file, { path: other, exists: true, explicit: true });
    assert.equal(
      resolveConfig({ home, configPath: 'third.json', env: { BGTASKS_CONFIG: other }, cwd: root }).values.get(
        'http.port',
      ),
      8003,
    );
  });

  it(
    'takes home from a file named explicitly (relative to the file), under --home ' +
      'and $BGTASKS_HOME, and refuses it in <home>/config.json',
    () => {
      const etc = join(root, 'etc');
      mkdirSync(etc, { recursive: true });
      const file = join(etc, 'config.json');
      writeFileSync(file, JSON.stringify({ home: '../var/lib/bgtasks', store: 'data/store.sqlite' }));
      const fromFile = resolveConfig({ configPath: file, env: {}, cwd: '/' });
      assert.equal(fromFile.values.get('home'), join(root, 'var', 'lib', 'bgtasks'));
      assert.equal(source(fromFile, 'home'), `file ${file}`);
      assert.equal(
        fromFile.values.get('store'),
        join(etc, 'data', 'store.sqlite'),
        'a relative store in the file is relative to the file',
      );
      assert.equal(fromFile.options.home, join(root, 'var', 'lib', 'bgtasks'));
      const byEnv = resolveConfig({ configPath: file, env: { BGTASKS_HOME: '/srv/bgtasks' }, cwd: '/' });
      assert.equal(byEnv.values.get('home'), '/srv/bgtasks');
      assert.equal(source(byEnv, 'home'), 'env BGTASKS_HOME');
      assert.equal(
        resolveConfig({ configPath: file, home: 'h', env: { BGTASKS_HOME: '/srv/bgtasks' }, cwd: '/tmp' }).values.get(
          'home',
        ),
        '/tmp/h',
      );

      const home = homeWith({ home: '/elsewhere' });
      const refused = failure({ home, env: {}, cwd: root });
      assert.equal(refused.code, 'invalidOption');
      assert.equal(refused.field, 'home');
      assert.match(refused.message, /--config or \$BGTASKS_CONFIG/);
    },
  );

  it(
    "leaves a postgres:// store as it is, and resolves a flag's or the " +
      "environment's path from the working directory",
    () => {
      const home = homeWith({ store: 'postgres://bgtasks@127.0.0.1/test?schema=a' });
      assert.equal(
        resolveConfig({ home, env: {}, cwd: root }).values.get('store'),
        'postgres://bgtasks@127.0.0.1/test?schema=a',
      );
      assert.equal(
        resolveConfig({ home, env: { BGTASKS_STORE: 'x.sqlite' }, cwd: '/tmp' }).values.get('store'),
        '/tmp/x.sqlite',
      );
      assert.equal(
        resolveConfig({ home, env: {}, flags: { store: 'y.sqlite' }, cwd: '/var' }).values.get('store'),
        '/var/y.sqlite',
      );
    },
  );

  it("names the option and its source when the daemon's own validators refuse a combination", () => {
    const home = homeWith({ fleet: { heartbeatMs: 10_000 } });
    const lease = failure({ home, env: {}, cwd: root });
    assert.equal(lease.code, 'invalidOption');
    assert.equal(lease.field, 'fleet.leaseMs');
    assert.match(lease.message, /at least 3 × `fleet\.heartbeatMs`/);
    const host = failure({ home: homeWith(), env: { BGTASKS_HTTP_HOST: 'example.com' }, cwd: root });
    assert.equal(host.field, 'BGTASKS_HTTP_HOST', 'the variable that gave the value');
    assert.match(host.message, /`http\.host` \(from env BGTASKS_HTTP_HOST\): Expected `httpHost` to be an IP address/);
  });

  it('checks the flags with the same schema', () => {
    const error = failure({ home: homeWith(), env: {}, flags: { log: { level: 'loud' } }, cwd: root });
    assert.equal(error.field, 'log.level');
    assert.match(error.message, /given as a flag/);
  });

  it("maps the metrics section to the daemon's metrics option", () => {
    const resolved = resolveConfig({ home: homeWith({ metrics: { enabled: false } }), env: {}, cwd: root });
    assert.deepEqual(resolved.options.metrics, { enabled: false });
    assert.equal(resolved.values.get('metrics.enabled'), false);
    assert.equal(resolveConfig({ home: homeWith(), env: {}, cwd: root }).values.get('metrics.enabled'), true);
  });

  it('warns about options that are set but have no effect', () => {
    const resolved = resolveConfig({
      home: homeWith({ http: { enabled: false, port: 8080 }, fleet: { heartbeatMs: 500 } }),
      env: {},
      cwd: root,
    });
    assert.equal(resolved.options.httpPort, null);
    assert.equal(resolved.warnings.length, 2);
    assert.match(resolved.warnings[0]!, /http\.port \(file .*\) is ignored: http\.enabled is false/);
    assert.match(resolved.warnings[1]!, /fleet\.heartbeatMs .* applies only with a postgres:\/\/ store/);
  });

  it('refuses a file that is not JSON, naming the file', () => {
    const home = homeWith('{ "http": ');
    const error = failure({ home, env: {}, cwd: root });
    assert.equal(error.code, 'invalidConfig');
    assert.match(error.message, new RegExp(`${join(home, 'config.json')} is not valid JSON`));
  });
});
