import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { Sensors } from '../../src/conditions/sensors.js';
import {
  changedConditions,
  loadTrace,
  parseTrace,
  recordConditions,
  serializeTrace,
  TRACE_FORMAT,
  TraceError,
  type ConditionsTrace,
  type TraceSample,
} from '../../src/conditions/trace.js';
import type { Disposable } from '../../src/engine/clock.js';
import {
  CONDITION_NAMES,
  DEFAULT_CONDITIONS,
  type ConditionName,
  type ConditionOrigin,
  type Conditions,
} from '../../src/engine/conditions.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';

const T0 = Date.UTC(2026, 0, 1);
const MINUTE = 60_000;

const dir = mkdtempSync(join(tmpdir(), 'bgt-trace-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const tempFile = (): string => join(dir, `trace-${files++}.json`);

function all(values: Partial<Conditions>): Conditions {
  return { ...DEFAULT_CONDITIONS, ...values };
}

function sensorOrigins(): Record<ConditionName, ConditionOrigin> {
  return Object.fromEntries(CONDITION_NAMES.map((name) => [name, 'sensor'])) as Record<ConditionName, ConditionOrigin>;
}

function sample(at: number, values: Partial<Conditions>): TraceSample {
  return { at, conditions: all(values), origins: sensorOrigins() };
}

function trace(samples: TraceSample[], extra: Partial<ConditionsTrace> = {}): ConditionsTrace {
  return { format: TRACE_FORMAT, version: 1, startedAt: T0, host: { platform: 'linux' }, samples, ...extra };
}

/** The trace as plain JSON data, to break on purpose. */
function data(
  value: ConditionsTrace = trace([
    sample(T0, { power: 'ac' }),
    sample(T0 + MINUTE, { power: 'battery', batteryLevel: 80 }),
  ]),
): Record<string, unknown> & { samples: Record<string, Record<string, unknown>>[] } {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown> & {
    samples: Record<string, Record<string, unknown>>[];
  };
}

function assertTraceError(text: string, field: string | undefined, message?: RegExp): TraceError {
  let caught: unknown;
  try {
    parseTrace(text);
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof TraceError, `expected a TraceError, got ${String(caught)}`);
  assert.equal(caught.code, 'invalidTrace');
  assert.equal(caught.field, field);
  if (message) assert.match(caught.message, message);
  return caught;
}

describe('trace format', () => {
  it('parses a valid trace, and serializes it back to the same data, one sample per line', () => {
    const original = trace(
      [
        sample(T0 + 12, { power: 'ac', network: 'online' }),
        sample(T0 + MINUTE, { power: 'battery', batteryLevel: 97.5 }),
        sample(T0 + MINUTE, { power: 'battery', batteryLevel: 97 }),
      ],
      { endedAt: T0 + 2 * MINUTE, host: { platform: 'darwin', hostname: 'laptop' } },
    );
    const text = serializeTrace(original);
    assert.deepEqual(parseTrace(text), original);
    assert.equal(text.split('\n').length, 1 + 3 + 2, 'header line, a line per sample, closing line, final newline');
    assert.match(
      text.split('\n')[0]!,
      /^\{"format":"bgtasks-conditions-trace","version":1,"startedAt":\d+,"endedAt":\d+,"host":/,
    );
  });

  it('names the field at fault', () => {
    const badPower = data();
    badPower.samples[1]!.conditions!.power = 'solar';
    assertTraceError(JSON.stringify(badPower), 'samples.1.conditions.power', /samples\.1\.conditions\.power/);

    const missing = data();
    delete missing.samples[0]!.conditions!.ioPressure;
    assertTraceError(JSON.stringify(missing), 'samples.0.conditions.ioPressure');

    const misspelt = data();
    misspelt.samples[0]!.conditions!.powr = 'ac';
    assertTraceError(JSON.stringify(misspelt), 'samples.0.conditions.powr', /powr/);

    const badLevel = data();
    badLevel.samples[0]!.conditions!.batteryLevel = 101;
    assertTraceError(JSON.stringify(badLevel), 'samples.0.conditions.batteryLevel');

    const badOrigin = data();
    badOrigin.samples[1]!.origins!.network = 'guess';
    assertTraceError(JSON.stringify(badOrigin), 'samples.1.origins.network');

    const badAt = data();
    badAt.samples[1]!.at = 'noon' as never;
    assertTraceError(JSON.stringify(badAt), 'samples.1.at');

    const noHost = data();
    delete noHost.host;
    assertTraceError(JSON.stringify(noHost), 'host');

    const every: Record<ConditionName, unknown> = {
      power: 'x',
      batteryLevel: 'x',
      lowPowerMode: 'x',
      network: 'x',
      networkCost: 'x',
      userActivity: 'x',
      idleSince: 'x',
      thermalState: 'x',
      cpuPressure: 'x',
      memoryPressure: 'x',
      ioPressure: 'x',
    };
    for (const name of CONDITION_NAMES) {
      const bad = data();
      bad.samples[0]!.conditions![name] = every[name];
      assertTraceError(JSON.stringify(bad), `samples.0.conditions.${name}`);
    }
  });

  it('rejects samples out of time order, or before the start', () => {
    const outOfOrder = trace([sample(T0, {}), sample(T0 + 2 * MINUTE, {}), sample(T0 + MINUTE, {})]);
    assertTraceError(JSON.stringify(outOfOrder), 'samples.2.at', /before the previous sample.*time order/);
    const beforeStart = trace([sample(T0 - 1, {})]);
    assertTraceError(JSON.stringify(beforeStart), 'samples.0.at', /before startedAt/);
    const endedEarly = trace([sample(T0, {}), sample(T0 + MINUTE, {})], { endedAt: T0 + 1 });
    assertTraceError(JSON.stringify(endedEarly), 'endedAt');
    // Equal times are in order.
    assert.equal(parseTrace(JSON.stringify(trace([sample(T0, {}), sample(T0, { power: 'ac' })]))).samples.length, 2);
  });

  it('says plainly when the text is not a trace at all', () => {
    assertTraceError('{"format": "bgtasks-conditions-trace", ', undefined, /not JSON/);
    assertTraceError('[]', undefined, /JSON object/);
    assertTraceError('{"samples": []}', 'format', /not a bgtasks conditions trace/);
    assertTraceError(JSON.stringify({ ...data(), version: 2 }), 'version', /unsupported version 2/);
    assertTraceError(JSON.stringify({ ...data(), samples: [] }), 'samples', /at least one sample/);
  });

  it('parses a week of changes in linear time', () => {
    const count = 20_000;
    const samples: TraceSample[] = [];
    for (let index = 0; index < count; index++)
      samples.push(sample(T0 + index * 10_000, { cpuPressure: index % 2 ? 'fair' : 'nominal' }));
    const text = serializeTrace(trace(samples));
    const parsed = parseTrace(text);
    assert.equal(parsed.samples.length, count);
    assert.equal(parsed.samples[count - 1]!.conditions.cpuPressure, 'fair');
  });

  it('loadTrace reads a file, and puts the path in the error of a bad one', async () => {
    const good = tempFile();
    writeFileSync(good, serializeTrace(trace([sample(T0, { power: 'ac' })])));
    assert.equal((await loadTrace(good)).samples[0]!.conditions.power, 'ac');
    const bad = tempFile();
    writeFileSync(bad, '{"format":"bgtasks-conditions-trace","version":1}');
    await assert.rejects(
      loadTrace(bad),
      (error: unknown) =>
        error instanceof TraceError && error.message.startsWith(`${bad}: `) && error.field === 'startedAt',
    );
    await assert.rejects(loadTrace(join(dir, 'missing.json')), { code: 'ENOENT' });
  });

  it('changedConditions lists the names whose values differ', () => {
    assert.deepEqual(changedConditions(all({ power: 'ac' }), all({ power: 'battery', batteryLevel: 50 })), [
      'power',
      'batteryLevel',
    ]);
    assert.deepEqual(changedConditions(all({}), all({})), []);
  });
});

/** Sensors that answer what the test last scripted, with change events the test fires by hand. */
class ScriptedSensors implements Sensors {
  next: Partial<Conditions> | Error = {};
  reads = 0;
  onChange: (() => void) | undefined;
  watching = false;
  read(): Promise<Partial<Conditions>> {
    this.reads++;
    const next = this.next;
    return next instanceof Error ? Promise.reject(next) : Promise.resolve({ ...next });
  }
  watch(onChange: () => void): Disposable {
    this.onChange = onChange;
    this.watching = true;
    return { dispose: () => void (this.watching = false) };
  }
}

describe('recordConditions', () => {
  const POLL = 1_000;

  function setup() {
    const clock = new VirtualClock({ start: T0 });
    const sensors = new ScriptedSensors();
    sensors.next = { power: 'ac', batteryLevel: 100, network: 'online', cpuPressure: 'nominal' };
    const out = tempFile();
    const seen: { at: number; index: number; changed: readonly ConditionName[] }[] = [];
    return {
      clock,
      sensors,
      out,
      seen,
      onSample: (s: TraceSample, info: { index: number; changed: readonly ConditionName[] }) =>
        seen.push({ at: s.at, ...info }),
    };
  }

  it('writes a sample at the start and one per change, not one per poll', async () => {
    const { clock, sensors, out, seen, onSample } = setup();
    const recording = recordConditions({
      sensors,
      clock,
      pollIntervalMs: POLL,
      durationMs: 10 * POLL,
      out,
      onSample,
      platform: 'linux',
    });
    await clock.advanceBy(0);
    assert.equal(seen.length, 1);
    // Written at once: the file is a valid trace from the first sample on.
    const early = await loadTrace(out);
    assert.equal(early.samples.length, 1);
    assert.equal(early.endedAt, undefined);

    await clock.advanceBy(3 * POLL); // three polls, nothing changed
    assert.equal(seen.length, 1);
    sensors.next = { ...sensors.next, power: 'battery', batteryLevel: 99 };
    await clock.advanceBy(POLL);
    assert.equal((await loadTrace(out)).samples.length, 2, 'the file is rewritten after each change');
    await clock.advanceBy(2 * POLL); // unchanged
    sensors.next = { ...sensors.next, network: 'offline' };
    await clock.advanceBy(POLL);
    sensors.next = { ...sensors.next, network: 'online', cpuPressure: 'serious' };
    await clock.advanceBy(POLL);
    await clock.advanceBy(10 * POLL); // past the end
    const result = await recording;

    assert.ok(sensors.reads >= 10, `polled ${sensors.reads} times`);
    assert.deepEqual(
      result.samples.map((s) => s.at - T0),
      [0, 4 * POLL, 7 * POLL, 8 * POLL],
    );
    assert.deepEqual(
      seen.map((s) => s.changed),
      [[], ['power', 'batteryLevel'], ['network'], ['network', 'cpuPressure']],
    );
    assert.deepEqual(
      seen.map((s) => s.index),
      [0, 1, 2, 3],
    );
    assert.equal(result.startedAt, T0);
    assert.equal(result.endedAt, T0 + 10 * POLL);
    assert.deepEqual(result.host, { platform: 'linux' }, 'no hostname unless asked');
    assert.equal(result.samples[1]!.conditions.power, 'battery');
    assert.equal(result.samples[0]!.origins.power, 'sensor');
    assert.equal(
      result.samples[0]!.origins.thermalState,
      'default',
      'a value the sensors could not read is the default',
    );
    assert.ok(result.samples.every((s) => CONDITION_NAMES.every((name) => s.origins[name] !== 'override')));

    const onDisk = await loadTrace(out);
    assert.deepEqual(onDisk, result);
    assert.equal(clock.pendingTimers, 0, 'stopped polling');
    assert.equal(sensors.watching, false, 'stopped watching');
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.endsWith('.tmp')),
      [],
      'no temporary file left',
    );
  });

  it('re-reads soon after a sensor change event, between polls', async () => {
    const { clock, sensors, out } = setup();
    const recording = recordConditions({
      sensors,
      clock,
      pollIntervalMs: 60_000,
      eventDebounceMs: 500,
      durationMs: 120_000,
      out,
    });
    await clock.advanceBy(10_000);
    sensors.next = { ...sensors.next, power: 'battery' };
    sensors.onChange!();
    await clock.advanceBy(200_000);
    const result = await recording;
    assert.deepEqual(
      result.samples.map((s) => s.at - T0),
      [0, 10_500],
    );
  });

  it('stops when the signal aborts, and keeps the trace', async () => {
    const { clock, sensors, out } = setup();
    const controller = new AbortController();
    const recording = recordConditions({ sensors, clock, pollIntervalMs: POLL, out, signal: controller.signal });
    await clock.advanceBy(2 * POLL);
    sensors.next = { ...sensors.next, lowPowerMode: true };
    await clock.advanceBy(POLL);
    controller.abort();
    const result = await recording;
    assert.equal(result.samples.length, 2);
    assert.equal(result.endedAt, T0 + 3 * POLL);
    assert.deepEqual(await loadTrace(out), result);
    assert.equal(clock.pendingTimers, 0);
  });

  it('keeps samples in order when the wall clock steps back', async () => {
    const { clock, sensors, out } = setup();
    const recording = recordConditions({ sensors, clock, pollIntervalMs: POLL, durationMs: 5 * POLL, out });
    await clock.advanceBy(POLL);
    clock.jumpWallClock(-30 * MINUTE);
    sensors.next = { ...sensors.next, network: 'offline' };
    await clock.advanceBy(10 * POLL);
    const result = await recording;
    assert.equal(result.samples.length, 2);
    assert.equal(result.samples[1]!.at, result.samples[0]!.at);
    assert.deepEqual(await loadTrace(out), result, 'still a valid trace');
  });

  it('stores the hostname only when asked', async () => {
    const { clock, sensors, out } = setup();
    const recording = recordConditions({ sensors, clock, durationMs: 1, out, hostname: 'box-1' });
    await clock.advanceBy(1);
    assert.deepEqual((await recording).host.hostname, 'box-1');
  });

  it('records the defaults when the first read fails, and goes on', async () => {
    const { clock, sensors, out } = setup();
    sensors.next = new Error('no sysfs');
    const errors: unknown[] = [];
    const recording = recordConditions({
      sensors,
      clock,
      pollIntervalMs: POLL,
      durationMs: 3 * POLL,
      out,
      onSensorError: (error) => errors.push(error),
    });
    await clock.advanceBy(POLL / 2);
    sensors.next = { power: 'ac' };
    await clock.advanceBy(5 * POLL);
    const result = await recording;
    assert.equal(errors.length, 1);
    assert.deepEqual(result.samples[0]!.conditions, DEFAULT_CONDITIONS);
    assert.equal(result.samples[0]!.origins.power, 'default');
    assert.equal(result.samples[1]!.conditions.power, 'ac');
  });

  it('rejects when the file cannot be written, and on bad options before anything happens', async () => {
    const { clock, sensors } = setup();
    await assert.rejects(
      recordConditions({ sensors, clock, durationMs: 1_000, out: join(dir, 'no', 'such', 'dir', 'trace.json') }),
      { code: 'ENOENT' },
    );
    await assert.rejects(recordConditions({ sensors, clock, out: tempFile(), pollIntervalMs: 50 }), {
      name: 'TypeError',
      message: /pollIntervalMs/,
    });
    await assert.rejects(recordConditions({ sensors, clock, out: tempFile(), durationMs: 0 }), {
      name: 'TypeError',
      message: /durationMs/,
    });
    await assert.rejects(recordConditions({ sensors, clock, out: '' }), { name: 'TypeError', message: /out/ });
    assert.equal(sensors.reads, 1, 'only the first (unwritable) recording read the sensors');
  });

  it('stops when onSample throws, leaving the last good file', async () => {
    const { clock, sensors, out } = setup();
    const recording = recordConditions({
      sensors,
      clock,
      pollIntervalMs: POLL,
      out,
      onSample: (_sample, { index }) => {
        if (index === 1) throw new Error('stdout closed');
      },
    });
    const outcome = recording.then(
      () => null,
      (error: unknown) => error,
    );
    await clock.advanceBy(POLL);
    sensors.next = { ...sensors.next, power: 'battery' };
    await clock.advanceBy(POLL);
    assert.match(String(await outcome), /stdout closed/);
    assert.equal((await loadTrace(out)).samples.length, 2);
    assert.ok(existsSync(out));
    assert.match(readFileSync(out, 'utf8'), /"power":"battery"/);
  });
});
