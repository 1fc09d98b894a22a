import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { z } from 'zod';
import { configFileSchema, configJsonSchema } from '../../src/config/configSchema.js';
import { CONFIG_OPTIONS, envName, getPath } from '../../src/config/configOptions.js';
import { checkOptions, readConfigFile } from '../../src/config/configSources.js';
import { renderOptionsTable, withGeneratedTable } from '../../src/config/configDocs.js';
import { ConfigError } from '../../src/config/configError.js';
import { parseSchedulingOption, SCHEDULING_OPTION_NAMES } from '../../src/engine/options.js';
import { DEFAULT_FLEET_OPTIONS } from '../../src/daemon/fleet/fleetOptions.js';
import { DEFAULT_CONNECTION_LIMITS } from '../../src/daemon/options.js';

const DOC = join(import.meta.dirname, '..', '..', 'docs', 'configuration.md');

/** Every option set, to a value that is not its default. */
const FULL_FILE = {
  $schema: './config.schema.json',
  home: '/var/lib/bgtasks',
  store: 'postgres://bgtasks@db.internal/bgtasks?schema=fleet',
  nodeId: 'node-1',
  synchronous: 'normal',
  http: { enabled: true, port: 8750, host: '0.0.0.0' },
  log: { level: 'debug', format: 'json' },
  scheduling: {
    profile: 'server',
    refreshTimeLimitMs: 60_000,
    processingMaxRunMs: 600_000,
    expirationGraceMs: 1_000,
    maxPendingProcessingPerApp: 20,
    maxConcurrentTasksPerApp: 2,
    maxConcurrentTasks: 8,
    maxBackgroundProcesses: 6,
    appIdleTimeoutMs: 5_000,
    launchTimeoutMs: 10_000,
    launchBackoffMs: 1_000,
    launchBackoffMaxMs: 60_000,
    stopGraceMs: 1_000,
    maxSleepMs: 30_000,
    criticalBatteryLevel: 5,
    lowBatteryLevel: 15,
    lowPowerModeDefers: false,
    deviceIdleRequiredMs: 0,
    pressureDefersProcessingAt: 'fair',
    pressureDefersAllAt: 'serious',
    thermalDefersProcessingAt: 'fair',
    thermalDefersAllAt: 'serious',
    recentUseWindowMs: 0,
    backgroundLaunchesPerDay: 10,
    backgroundSecondsPerDay: 60,
    backgroundCpuSecondsPerDay: 30,
    usageBonus: false,
    throttleMs: 60_000,
    throttleMaxMs: 600_000,
    minRefreshIntervalMs: 1_000,
    maxContinuedTasks: 1,
    continuedStallMs: 10_000,
    pushMaxAttempts: 3,
    pushRetryDelayMs: 500,
    pushMaxRetryDelayMs: 10_000,
  },
  fleet: { heartbeatMs: 2_000, leaseMs: 20_000, maintenanceMs: 10_000, retentionMs: 86_400_000 },
  sensorPollIntervalMs: 10_000,
  helloTimeoutMs: 5_000,
  maxFrameBytes: 1_048_576,
  connectionLimits: {
    maxConnections: 100,
    maxUnauthenticated: 10,
    maxConnectionsPerApp: 8,
    maxControlConnections: 16,
    maxFramesPerSecond: 1_000,
    maxRequestsInFlight: 64,
  },
  httpLimits: { maxConnections: 64, maxUnauthenticated: 8, headersTimeoutMs: 5_000, requestTimeoutMs: 10_000 },
  history: { retentionMs: 86_400_000, maxRunsPerApp: 1_000, pruneIntervalMs: 60_000, pruneBatchRows: 500 },
  metrics: { enabled: false },
};

function rejection(input: unknown): ConfigError {
  try {
    checkOptions(input, 'in the test');
  } catch (error) {
    assert.ok(error instanceof ConfigError, `a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail(`accepted ${JSON.stringify(input)}`);
}

describe('configSchema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-config-schema-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts a file that sets every option, and the full file covers every option', () => {
    const parsed = configFileSchema.parse(FULL_FILE);
    assert.deepEqual(parsed, FULL_FILE);
    for (const option of CONFIG_OPTIONS)
      assert.notEqual(getPath(FULL_FILE, option.segments), undefined, `the full file sets ${option.path}`);
  });

  it('accepts an empty file: every option is optional', () => {
    assert.deepEqual(configFileSchema.parse({}), {});
  });

  it('rejects an unknown key, naming its path, at the top and inside a section, and suggests the near one', () => {
    const nested = rejection({ scheduling: { refreshTimeLimit: 1000 } });
    assert.equal(nested.code, 'unknownOption');
    assert.equal(nested.field, 'scheduling.refreshTimeLimit');
    assert.match(nested.message, /did you mean `scheduling\.refreshTimeLimitMs`/);
    const top = rejection({ prot: 1 });
    assert.equal(top.code, 'unknownOption');
    assert.equal(top.field, 'prot');
    const deep = rejection({ http: { port: 80, tls: true } });
    assert.equal(deep.field, 'http.tls');
    assert.equal(deep.exitCode, 2);
  });

  it('rejects a wrong type or a value out of range, naming the path and what was expected', () => {
    const port = rejection({ http: { port: '8080' } });
    assert.equal(port.code, 'invalidOption');
    assert.equal(port.field, 'http.port');
    assert.match(
      port.message,
      /`http\.port` in the test: expected an integer >= 0 and <= 65535, got "8080" \(string\)/,
    );
    const level = rejection({ scheduling: { lowBatteryLevel: 101 } });
    assert.equal(level.field, 'scheduling.lowBatteryLevel');
    assert.match(level.message, /<= 100/);
    const profile = rejection({ scheduling: { profile: 'laptop' } });
    assert.match(profile.message, /expected one of device, server, got "laptop"/);
    const flag = rejection({ usageBonus: true, http: { enabled: 'yes' } });
    assert.equal(flag.field, 'http.enabled', 'one problem is reported, and the others counted');
    assert.match(flag.message, /1 more problem/);
    const section = rejection({ http: 8080 });
    assert.equal(section.field, 'http');
    assert.match(section.message, /expected an object/);
    const node = rejection({ nodeId: '-bad id' });
    assert.equal(node.field, 'nodeId');
  });

  it('agrees with the scheduling validators at every bound, and has exactly their options', () => {
    assert.deepEqual(
      CONFIG_OPTIONS.filter((option) => option.segments[0] === 'scheduling')
        .map((option) => option.segments[1])
        .sort(),
      [...SCHEDULING_OPTION_NAMES].sort(),
    );
    for (const option of CONFIG_OPTIONS.filter((candidate) => candidate.segments[0] === 'scheduling')) {
      const name = option.segments[1]!;
      const accepts = (value: unknown): boolean => option.schema.safeParse(value).success;
      const engineAccepts = (text: string): boolean => {
        try {
          parseSchedulingOption(name, text);
          return true;
        } catch {
          return false;
        }
      };
      if (option.kind === 'integer') {
        const number = option.schema as z.ZodNumber;
        const min = number.minValue!;
        assert.equal(engineAccepts(String(min)), true, `${name} = ${min}`);
        assert.equal(engineAccepts(String(min - 1)), false, `${name} = ${min - 1}`);
        assert.equal(accepts(min - 1), false);
        assert.equal(accepts(1.5), false);
        const max = number.maxValue;
        if (max !== null && max < Number.MAX_SAFE_INTEGER) {
          assert.equal(engineAccepts(String(max)), true);
          assert.equal(engineAccepts(String(max + 1)), false, `${name} = ${max + 1}`);
        } else {
          assert.equal(engineAccepts(String(10 ** 12)), true, `${name} has no upper bound`);
        }
      } else if (option.values) {
        for (const value of option.values) assert.equal(engineAccepts(value), true, `${name} = ${value}`);
        assert.equal(engineAccepts('nominal'), false);
        assert.equal(accepts('nominal'), false);
      } else {
        assert.equal(option.kind, 'boolean');
        assert.equal(engineAccepts('true'), true);
      }
    }
  });

  it('has exactly the fleet options and the connection limits of the daemon', () => {
    const keys = (section: string): string[] =>
      CONFIG_OPTIONS.filter((option) => option.segments[0] === section)
        .map((option) => option.segments[1]!)
        .sort();
    assert.deepEqual(keys('fleet'), Object.keys(DEFAULT_FLEET_OPTIONS).sort());
    assert.deepEqual(keys('connectionLimits'), Object.keys(DEFAULT_CONNECTION_LIMITS).sort());
  });

  it('gives every option its own environment variable: BGTASKS_ + the path in upper snake case', () => {
    const names = CONFIG_OPTIONS.map((option) => option.env);
    assert.equal(new Set(names).size, names.length);
    assert.equal(envName(['scheduling', 'refreshTimeLimitMs']), 'BGTASKS_SCHEDULING_REFRESH_TIME_LIMIT_MS');
    assert.equal(
      envName(['connectionLimits', 'maxConnectionsPerApp']),
      'BGTASKS_CONNECTION_LIMITS_MAX_CONNECTIONS_PER_APP',
    );
    const byPath = new Map(CONFIG_OPTIONS.map((option) => [option.path, option.env]));
    assert.equal(byPath.get('log.level'), 'BGTASKS_LOG_LEVEL', 'the variable the logger has always read');
    assert.equal(byPath.get('home'), 'BGTASKS_HOME', 'the variable the home has always come from');
    assert.equal(byPath.get('http.port'), 'BGTASKS_HTTP_PORT');
  });

  it('reads a file: $schema allowed, JSON errors and non-objects named, a missing default file is empty', () => {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ $schema: './config.schema.json', http: { port: 8080 } }));
    assert.deepEqual(readConfigFile(file, null), {
      path: file,
      exists: true,
      explicit: false,
      values: { http: { port: 8080 } },
    });
    writeFileSync(file, '{ "http": { "port": 8080, } }');
    assert.throws(
      () => readConfigFile(file, null),
      (error: ConfigError) => error.code === 'invalidConfig' && error.message.includes('not valid JSON'),
    );
    writeFileSync(file, '[]');
    assert.throws(
      () => readConfigFile(file, 'config'),
      (error: ConfigError) => error.code === 'invalidConfig' && error.field === 'config',
    );
    writeFileSync(file, JSON.stringify({ scheduling: { maxSleepMs: 5 } }));
    assert.throws(
      () => readConfigFile(file, null),
      (error: ConfigError) => error.field === 'scheduling.maxSleepMs' && error.message.includes(file),
    );
    const missing = join(dir, 'missing.json');
    assert.deepEqual(readConfigFile(missing, null), { path: missing, exists: false, explicit: false, values: {} });
    assert.throws(
      () => readConfigFile(missing, 'BGTASKS_CONFIG'),
      (error: ConfigError) => error.code === 'configNotFound' && error.field === 'BGTASKS_CONFIG',
    );
  });

  it('has a JSON Schema for editors that knows every option and refuses unknown keys', () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
      additionalProperties: boolean;
    };
    assert.equal(schema.additionalProperties, false);
    assert.ok(schema.properties.$schema);
    for (const option of CONFIG_OPTIONS) {
      const leaf =
        option.segments.length === 1
          ? schema.properties[option.path]
          : schema.properties[option.segments[0]!]?.properties?.[option.segments[1]!];
      assert.ok(leaf, `the JSON Schema has ${option.path}`);
    }
  });

  it('is documented: docs/configuration.md has the generated table, every option with its default and variable', () => {
    const doc = readFileSync(DOC, 'utf8');
    assert.equal(
      doc,
      withGeneratedTable(doc),
      'docs/configuration.md is out of date: regenerate its table (see ' + 'src/config/configDocs.ts)',
    );
    const table = renderOptionsTable();
    for (const option of CONFIG_OPTIONS) {
      const row = table.split('\n').find((line) => line.startsWith(`| \`${option.path}\` |`));
      assert.ok(row, `a row for ${option.path}`);
      assert.ok(row.includes(`\`${option.env}\``), `${option.path}'s variable`);
      assert.notEqual(row.split(' | ')[1]!.trim(), '', `${option.path}'s default`);
    }
    assert.match(table, /\| `scheduling\.maxBackgroundProcesses` \| `4` \(server: `16`\) \|/);
    assert.match(table, /\| `store` \| `<home>\/store\.sqlite` \|/);
  });

  it('documents an example file that is valid', () => {
    const doc = readFileSync(DOC, 'utf8');
    const example = /## Example\s+```json\n([\s\S]*?)```/.exec(doc)?.[1];
    assert.ok(example, 'the doc has an example');
    assert.doesNotThrow(() => configFileSchema.parse(JSON.parse(example)));
  });
});
