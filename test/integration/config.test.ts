import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, PROBE_APP, run, TestHome, type DaemonProcess } from '../support/daemonProcess.js';

/** The environment of the test runner must not leak into what these tests read as configuration. */
const CLEAN_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.keys(process.env)
    .filter((name) => name.startsWith('BGTASKS_'))
    .map((name) => [name, undefined]),
);

interface ConfigJson {
  file: { path: string; exists: boolean; explicit: boolean };
  options: Record<string, { value: unknown; source: string; from: string; env: string }>;
  warnings: string[];
}

function bgtasks(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return run(process.execPath, [CLI, ...args], { env: { ...CLEAN_ENV, ...env } });
}

function writeConfig(home: TestHome, config: unknown, name = join(home.home, 'config.json')): string {
  mkdirSync(join(name, '..'), { recursive: true });
  writeFileSync(name, typeof config === 'string' ? config : JSON.stringify(config));
  return name;
}

describe('bgtasks config', () => {
  const homes: TestHome[] = [];
  const daemons: DaemonProcess[] = [];
  const newHome = (): TestHome => {
    const home = new TestHome();
    homes.push(home);
    return home;
  };

  after(async () => {
    for (const daemon of daemons) await daemon[Symbol.asyncDispose]();
    for (const home of homes) home.cleanup();
  });

  it(
    'prints every option with its value and source as JSON: file, environment and ' + 'defaults, no daemon needed',
    async () => {
      const home = newHome();
      const file = writeConfig(home, {
        http: { port: 8123 },
        scheduling: { profile: 'server', maxConcurrentTasksPerApp: 2 },
      });
      const result = await bgtasks(['--home', home.home, 'config', '--json'], {
        BGTASKS_SCHEDULING_MAX_CONCURRENT_TASKS_PER_APP: '3',
        BGTASKS_STORE: 'postgres://ana:s3cret@127.0.0.1/test?schema=x',
        BGTASKS_HTTP_PROT: '1',
      });
      assert.equal(result.code, 0, result.stderr);
      const config = result.json<ConfigJson>();
      assert.deepEqual(config.file, { path: file, exists: true, explicit: false });
      assert.deepEqual(config.options['http.port'], {
        value: 8123,
        source: `file ${file}`,
        from: 'file',
        env: 'BGTASKS_HTTP_PORT',
      });
      assert.deepEqual(config.options['scheduling.maxConcurrentTasksPerApp'], {
        value: 3,
        source: 'env BGTASKS_SCHEDULING_MAX_CONCURRENT_TASKS_PER_APP',
        from: 'env',
        env: 'BGTASKS_SCHEDULING_MAX_CONCURRENT_TASKS_PER_APP',
      });
      assert.equal(config.options['scheduling.maxBackgroundProcesses']!.value, 16);
      assert.equal(config.options['scheduling.maxBackgroundProcesses']!.source, 'default (profile server)');
      assert.equal(config.options.home!.source, 'flag');
      assert.equal(
        config.options.store!.value,
        'postgres://ana:***@127.0.0.1/test?schema=x',
        'the password is not printed',
      );
      assert.ok(!result.stdout.includes('s3cret'));
      assert.deepEqual(config.warnings, [
        'BGTASKS_HTTP_PROT is not an option and is ignored; did you mean ' + 'BGTASKS_HTTP_PORT?',
      ]);
    },
  );

  it('prints a table for people, with the file, the precedence and the warnings', async () => {
    const home = newHome();
    const result = await bgtasks(['--home', home.home, 'config'], {
      BGTASKS_LOG_LEVEL: 'debug',
      BGTASKS_SCHEDULING_NOPE: '1',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`config file: ${join(home.home, 'config.json')} \\(not found: the defaults ` + `apply`),
    );
    assert.match(result.stdout, /^log\.level +debug +env BGTASKS_LOG_LEVEL$/m);
    assert.match(result.stdout, /^scheduling\.profile +\(decided at start\) +default \(picked at first start/m);
    assert.match(result.stdout, /^warning: BGTASKS_SCHEDULING_NOPE is not an option and is ignored$/m);
  });

  it(
    'exits 2 naming the field for an explicit config file that is missing, and ' + 'for a bad file or variable',
    async () => {
      const home = newHome();
      const missing = await bgtasks(['--home', home.home, '--config', join(home.dir, 'nope.json'), 'config']);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /does not exist \(field: config\) \[configNotFound\]/);
      const missingByEnv = await bgtasks(['--home', home.home, 'config'], {
        BGTASKS_CONFIG: join(home.dir, 'nope.json'),
      });
      assert.equal(missingByEnv.code, 2);
      assert.match(missingByEnv.stderr, /\(field: BGTASKS_CONFIG\) \[configNotFound\]/);
      writeConfig(home, { scheduling: { refreshTimeLimit: 1000 } });
      const unknown = await bgtasks(['--home', home.home, 'config', '--json']);
      assert.equal(unknown.code, 2);
      assert.equal(unknown.stdout, '');
      assert.match(
        unknown.stderr,
        /unknown option `scheduling\.refreshTimeLimit`.*did you mean `scheduling\.refreshTimeLimitMs`\? \(field: scheduling\.refreshTimeLimit\) \[unknownOption\]/,
      );
      writeConfig(home, {});
      const badEnv = await bgtasks(['--home', home.home, 'config'], { BGTASKS_HTTP_PORT: 'eighty' });
      assert.equal(badEnv.code, 2);
      assert.match(badEnv.stderr, /BGTASKS_HTTP_PORT="eighty".*\(field: BGTASKS_HTTP_PORT\) \[invalidOption\]/);
    },
  );

  it('checks a file alone with `config check`, and prints the JSON Schema with --schema', async () => {
    const home = newHome();
    const good = writeConfig(
      home,
      { $schema: './config.schema.json', http: { enabled: false } },
      join(home.dir, 'etc', 'good.json'),
    );
    const ok = await bgtasks(['--home', home.home, 'config', 'check', good], { BGTASKS_HTTP_PORT: 'eighty' });
    assert.equal(ok.code, 0, `the environment is not the file's: ${ok.stderr}`);
    assert.match(ok.stdout, /^ok: .*good\.json \(1 option set: http\.enabled\)$/m);
    const bad = writeConfig(home, { http: { port: -1 } }, join(home.dir, 'etc', 'bad.json'));
    const refused = await bgtasks(['--home', home.home, 'config', 'check', bad]);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /`http\.port` in .*bad\.json: expected an integer >= 0 and <= 65535, got -1 \(number\) \(field: http\.port\) \[invalidOption\]/,
    );
    const none = await bgtasks(['--home', home.home, 'config', 'check']);
    assert.equal(none.code, 0);
    assert.match(none.stdout, /no config file at .*: nothing to check/);
    const schema = await bgtasks(['config', '--schema']);
    assert.equal(schema.code, 0);
    const parsed = schema.json<{ additionalProperties: boolean; properties: Record<string, unknown> }>();
    assert.equal(parsed.additionalProperties, false);
    assert.ok(parsed.properties.scheduling && parsed.properties.http && parsed.properties.$schema);
  });

  it('starts a daemon with the options of its config file', async () => {
    const home = newHome();
    writeConfig(home, {
      http: { enabled: false },
      scheduling: { profile: 'server', maxPendingProcessingPerApp: 2 },
      log: { format: 'json' },
    });
    const daemon = await home.startDaemon([], CLEAN_ENV);
    daemons.push(daemon);
    assert.match(
      daemon.log,
      /"msg":"configuration: .*config\.json, with \d+ option\(s\) set/,
      'the log says which file, as JSON lines',
    );
    const status = (await home.cli('status', '--json')).json<{
      dashboard: unknown;
      profile: { name: string; reason: string };
    }>();
    assert.equal(status.dashboard, null, 'http.enabled: false serves no dashboard');
    assert.deepEqual(status.profile, { name: 'server', reason: "set by the daemon's options" });
    assert.equal((await home.cli('install', PROBE_APP)).code, 0);
    const results = (await home.probe('submitWork', '3', 'false', '3600000')).json<{ ok: boolean; code?: string }[]>();
    assert.deepEqual(
      results.map((result) => (result.ok ? 'ok' : result.code)),
      ['ok', 'ok', 'tooManyPendingTaskRequests'],
      'scheduling.maxPendingProcessingPerApp: 2',
    );
  });

  it('lets the environment override the file, and a flag the environment, in a real daemon', async () => {
    const home = newHome();
    writeConfig(home, { http: { enabled: false }, scheduling: { maxPendingProcessingPerApp: 1 } });
    const daemon = await home.startDaemon(['--option', 'maxPendingProcessingPerApp=3'], {
      ...CLEAN_ENV,
      BGTASKS_SCHEDULING_MAX_PENDING_PROCESSING_PER_APP: '2',
      BGTASKS_HTTP_ENABLED: 'true',
    });
    daemons.push(daemon);
    const status = (await home.cli('status', '--json')).json<{ dashboard: unknown }>();
    assert.notEqual(status.dashboard, null, "BGTASKS_HTTP_ENABLED=true over the file's false");
    assert.equal((await home.cli('install', PROBE_APP)).code, 0);
    const results = (await home.probe('submitWork', '4', 'false', '3600000')).json<{ ok: boolean; code?: string }[]>();
    assert.deepEqual(
      results.map((result) => (result.ok ? 'ok' : result.code)),
      ['ok', 'ok', 'ok', 'tooManyPendingTaskRequests'],
      'the flag (3) over the environment (2) over the file (1)',
    );
  });

  it('refuses to start on an invalid config file: exit 2, the field named, the store untouched', async () => {
    const home = newHome();
    writeConfig(home, { scheduling: { maxConcurrentTasksPerApp: 'two' } });
    const result = await bgtasks(['--home', home.home, 'daemon']);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /`scheduling\.maxConcurrentTasksPerApp` in .*config\.json: expected an integer >= 1, got "two" \(string\) \(field: scheduling\.maxConcurrentTasksPerApp\) \[invalidOption\]/,
    );
    assert.equal(existsSync(join(home.home, 'store.sqlite')), false, 'no store was created');
    assert.equal(existsSync(join(home.home, 'run')), false, 'no socket directory either');

    const fleetHome = newHome();
    writeConfig(fleetHome, { fleet: { heartbeatMs: 10_000 }, store: join(fleetHome.dir, 'elsewhere.sqlite') });
    const lease = await bgtasks(['--home', fleetHome.home, 'daemon']);
    assert.equal(lease.code, 2, lease.stderr);
    assert.match(lease.stderr, /\(field: fleet\.leaseMs\) \[invalidOption\]/);
    assert.equal(existsSync(join(fleetHome.dir, 'elsewhere.sqlite')), false);
  });
});
